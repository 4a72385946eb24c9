// Operator intake, keyboard first: Ctrl+Enter (or Cmd+Enter) submits from any field, and
// the caller's history appears while the number is typed (and when the field is left).
// Without JavaScript the form still submits and "查询" in the side panel shows the history.
(function () {
  var form = document.getElementById("intake-form");
  if (!form) return;
  // Alt+Z jumps to the direct answer (直办). Handled here rather than with accesskey,
  // whose modifier keys differ between browsers.
  var direct = form.querySelector("[data-direct-answer]");
  form.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      form.requestSubmit();
    } else if (direct && event.altKey && event.code === "KeyZ") {
      event.preventDefault();
      direct.focus();
    }
  });

  var phone = form.querySelector("[data-caller-history]");
  var panel = document.getElementById("caller-history");
  if (!phone || !panel) return;
  var url = panel.dataset.url, timer = null, shown = null;

  function render(data) {
    var list = document.createElement("ul");
    list.className = "history";
    if (!data.orders.length) {
      var none = document.createElement("li");
      none.className = "empty";
      none.textContent = "该号码没有历史工单";
      list.appendChild(none);
    }
    data.orders.forEach(function (o) {
      var item = document.createElement("li"), link = document.createElement("a");
      link.href = o.url;
      link.textContent = o.number;
      link.tabIndex = -1;  // keep Tab moving through the form, not the history
      var badge = document.createElement("span");
      badge.className = "badge status-" + o.status;
      badge.textContent = o.status_label;
      item.append(link, " " + o.created_at + " ", badge, document.createElement("br"), o.title);
      list.appendChild(item);
    });
    panel.querySelector(".history-result").replaceChildren(
      Object.assign(document.createElement("p"), {className: "help", textContent: "号码 " + data.phone + " 的历史工单 " + data.orders.length + " 件"}),
      list);
  }

  function lookup() {
    var value = phone.value.trim();
    if (value.length < 5 || value === shown) return;
    fetch(url + "?phone=" + encodeURIComponent(value), {headers: {"Accept": "application/json"}, credentials: "same-origin"})
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) { if (data && data.phone === phone.value.trim()) { shown = data.phone; render(data); } });
  }

  phone.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(lookup, 250); });
  phone.addEventListener("blur", lookup);
  if (phone.value) lookup();

  // Repeat calls (疑似重复): earlier orders with the same phone or a similar title,
  // asked for 300 ms after the title (or phone) stops changing.
  var similar = document.getElementById("similar-orders"), title = form.elements["title"];
  if (!similar || !title) return;
  var simTimer = null, simAsked = null, canLink = similar.dataset.canLink === "1";
  // Open statuses: a merge needs an open master (an archived case can still be linked to).
  var OPEN = ["registered", "dispatched", "return_requested", "handling", "replied", "follow_up"];

  // One click registers the call and links or merges it: a submit button of the intake
  // form (form="intake-form") whose name=repeat carries the choice. Tab reaches them after
  // the form's own button; Alt+R jumps to the first.
  function repeatButton(mode, text, o) {
    var button = document.createElement("button");
    button.type = "submit";
    button.setAttribute("form", "intake-form");
    button.name = "repeat";
    button.value = mode + ":" + o.number;
    button.className = mode === "merge" ? "danger" : "primary";
    button.textContent = text;
    button.title = text + "到 " + (o.master_number || o.number) + " 并登记本次来电";
    return button;
  }

  form.addEventListener("keydown", function (event) {
    if (event.altKey && event.code === "KeyR") {
      var first = similar.querySelector("button[name=repeat]");
      if (first) { event.preventDefault(); first.focus(); }
    }
  });

  function similarQuery() {
    var params = new URLSearchParams({title: title.value.trim(), phone: phone.value.trim()});
    if (form.elements["content"]) params.set("content", form.elements["content"].value.trim().slice(0, 200));
    if (form.elements["street"] && form.elements["street"].value) params.set("street", form.elements["street"].value);
    return params.toString();
  }

  function renderSimilar(data) {
    var list = document.createElement("ul");
    list.className = "history";
    data.orders.forEach(function (o) {
      var item = document.createElement("li"), link = document.createElement("a");
      link.href = o.url;
      link.textContent = o.number;
      link.tabIndex = -1;
      var badge = document.createElement("span");
      badge.className = "badge status-" + o.status;
      badge.textContent = o.status_label;
      item.append(link, " " + o.created_at + " ", badge, " " + (o.street || ""), document.createElement("br"),
                  o.title, document.createElement("br"),
                  Object.assign(document.createElement("small"), {className: "help", textContent: o.reason}));
      if (o.repeat_count) {
        item.append(" ", Object.assign(document.createElement("span"), {className: "badge repeat", textContent: "已重复 " + o.repeat_count + " 次"}));
      }
      if (o.master_number) {
        item.append(" ", Object.assign(document.createElement("small"), {className: "help", textContent: "本身为重复来电，主工单 " + o.master_number}));
      }
      if (canLink) {
        var buttons = document.createElement("div");
        buttons.className = "buttons";
        buttons.append(repeatButton("link", "关联", o));
        if (OPEN.indexOf(o.status) >= 0 && !o.master_number) buttons.append(" ", repeatButton("merge", "合并", o));
        item.appendChild(buttons);
      }
      list.appendChild(item);
    });
    similar.querySelector(".similar-result").replaceChildren(list);
    similar.hidden = !data.orders.length;
  }

  function lookupSimilar() {
    var query = similarQuery();
    if (query === simAsked) return;
    simAsked = query;
    fetch(similar.dataset.url + "?" + query, {headers: {"Accept": "application/json"}, credentials: "same-origin"})
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) { if (data && query === simAsked) renderSimilar(data); });
  }

  function soon() { clearTimeout(simTimer); simTimer = setTimeout(lookupSimilar, 300); }
  title.addEventListener("input", soon);
  phone.addEventListener("input", soon);
  if (form.elements["street"]) form.elements["street"].addEventListener("change", soon);
  if (title.value || phone.value) lookupSimilar();
})();
