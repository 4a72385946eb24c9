// Queue and inbox pages: "select all" for the rows' checkboxes. The pages work without it.
document.querySelectorAll("input.check-all").forEach(function (all) {
  all.addEventListener("change", function () {
    var form = all.closest("form");
    form.querySelectorAll('input[type=checkbox][name="' + all.dataset.target + '"]').forEach(function (box) {
      box.checked = all.checked;
    });
  });
});
