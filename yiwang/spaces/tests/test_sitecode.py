"""Site codes: the QR code's URL and the PDF labels, read back as text."""

from __future__ import annotations

import io

from django.urls import reverse
from pypdf import PdfReader

from yiwang.core.models import AuditEntry
from yiwang.spaces import sitecode
from yiwang.spaces.tests.conftest import make_space


def pdf_text(content: bytes) -> tuple[int, str]:
    reader = PdfReader(io.BytesIO(content))
    return len(reader.pages), "\n".join(page.extract_text() for page in reader.pages)


def test_qr_points_to_the_absolute_public_url(sw):
    assert sitecode.public_url(sw.s1) == "https://yiwang.example.cn/public/spaces/HK-DX-0001/"
    code = sitecode.qr(sw.s1)
    assert code.designator.endswith("-M")
    assert code.version >= 3  # a 50-character URL does not fit the smallest versions: the URL is really in it
    assert b"<svg" in sitecode.qr_svg(sw.s1)


def test_street_sheet_lists_the_streets_active_spaces(client, sw):
    for n in range(4, 18):
        make_space(f"HK-DX-{n:04d}", sw.quyang, name=f"曲阳第{n}地下车库")
    make_space("HK-DX-0099", sw.quyang, name="已注销车库", active=False)
    client.force_login(sw.quyang_officer)
    response = client.get(reverse("spaces:sheet"), {"street": sw.quyang.pk})
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    pages, text = pdf_text(response.content)
    assert pages == 2  # 16 spaces at 12 a page
    assert "曲阳第17地下车库" in text and "HK-DX-0017" in text
    assert text.count("扫码查看/反映隐患") == 16
    assert "已注销车库" not in text and "HK-DX-0003" not in text
    assert AuditEntry.objects.filter(action=AuditEntry.Action.EXPORT, actor=sw.quyang_officer).exists()


def test_street_officer_cannot_print_another_street(client, sw):
    client.force_login(sw.quyang_officer)
    assert client.get(reverse("spaces:sheet"), {"street": sw.jiaxing.pk}).status_code == 403
    assert client.get(reverse("spaces:sheet"), {"street": "nope"}).status_code == 400


def test_single_label_has_the_code_name_and_address(client, sw):
    client.force_login(sw.ent_a)
    response = client.get(reverse("spaces:label", args=["HK-DX-0001"]))
    pages, text = pdf_text(response.content)
    assert pages == 1
    for expected in ("HK-DX-0001", sw.s1.name, sw.s1.address, "扫码查看/反映隐患"):
        assert expected in text
    assert client.get(reverse("spaces:label", args=["HK-DX-0003"])).status_code == 404


def test_long_names_are_cut_to_fit_the_label(sw):
    space = make_space("HK-DX-0500", sw.quyang, name="很长的名称" * 10)
    _, text = pdf_text(sitecode.single_label_pdf(space))
    assert "…" in text and "很长的名称" * 10 not in text
