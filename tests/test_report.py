"""`aquila report`: a report for an area and period built from what the server releases to the token — each
row portion-marked with its label, the page marked with the highest classification in it, the map's dark
vessels those of the released findings, other nations' text escaped; HTML parsed back by lxml, PDF pages
counted; bad input named."""

from __future__ import annotations

import io
import socket
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from lxml import html as lxml_html

from aquila.catalog import validate_item
from aquila.cli.main import cli
from aquila.security.labels import Classification
from aquila.security.policy import User
from conftest import LiveServer

DEU = User("DEU", Classification.NS, subject="deu-watch")
EST = User("EST", Classification.NR, subject="est-watch")
XSS = "<script>alert(1)</script>"


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Any:
    from rich.console import Console

    from aquila.cli.maritime_demo import run_maritime_demo
    from aquila.instance import Instance

    d = tmp_path_factory.mktemp("report") / "instance"
    run_maritime_demo(Console(file=io.StringIO()), d, size_px=512)
    inst = Instance.open(d)
    inst.library.operator_collection({"type": "Collection", "id": "products", "description": "p",
                                      "sec:classification": "NU", "sec:releasable_to": ["NATO"],
                                      "sec:originator": "BEL"})
    inst.library.ingest([validate_item({
        "type": "Feature", "id": "scene-xss", "collection": "products",
        "geometry": {"type": "Polygon", "coordinates": [[[19, 57], [20, 57], [20, 58], [19, 58], [19, 57]]]},
        "properties": {"datetime": "2026-12-03T06:00:00Z", "platform": XSS, "sec:classification": "NU",
                       "sec:releasable_to": ["NATO"], "sec:caveats": [], "sec:originator": "FRA"}})])
    inst.close()
    s = LiveServer(d)
    yield s
    s.stop()


def _report(srv: LiveServer, u: User, out: Path, *extra: str) -> Any:
    return CliRunner().invoke(cli, ["report", "--url", srv.url, "--token", srv.token(u), "--bbox", "15,54,30,61",
                                    "-o", str(out), *extra])


def test_each_reader_gets_a_report_of_what_is_released_to_them(srv: LiveServer, tmp_path: Path) -> None:
    pages = {}
    for u in (DEU, EST):
        r = _report(srv, u, tmp_path / f"{u.nation}.html")
        assert r.exit_code == 0, r.output
        pages[u.nation] = lxml_html.fromstring((tmp_path / f"{u.nation}.html").read_bytes())
    with srv.client(DEU) as c:
        deu_findings = [f for f in c.post("/search", json={"collections": ["maritime-findings"]}).json()["features"]]
    with srv.client(EST) as c:
        est_findings = [f for f in c.post("/search", json={"collections": ["maritime-findings"]}).json()["features"]]
    assert len(deu_findings) == 2 and len(est_findings) == 1
    for nation, findings, top in (("DEU", deu_findings, "NATO SECRET"), ("EST", est_findings, "NATO RESTRICTED")):
        doc = pages[nation]
        banners = [b.text_content() for b in doc.find_class("banner")]
        assert banners == [top, top]
        tables = doc.findall(".//table")
        rows = [[td.text_content() for td in tr.findall("td")] for tr in tables[0].findall(".//tbody/tr")]
        assert sorted(r[2] for r in rows) == sorted(f"maritime-findings/{f['id']}" for f in findings)
        for r, f in zip(sorted(rows, key=lambda r: r[2]), sorted(findings, key=lambda f: f["id"]), strict=True):
            assert r[0] == f"({f['properties']['sec:classification']})" and r[1].startswith("NATO ")
        # the map: one red dot per dark vessel of the released findings
        dark = sum(f["properties"]["aquila:dark_vessels"] for f in findings)
        assert len(doc.xpath("//*[local-name()='circle'][@fill='#ff1744']")) == dark > 0
        # other nations' text is text: no script element, the markup shown literally
        assert doc.xpath("//script") == [] and XSS in doc.text_content()
    hidden = {f["id"] for f in deu_findings} - {f["id"] for f in est_findings}
    assert hidden and not any(h in lxml_html.tostring(pages["EST"]).decode() for h in hidden)


def test_a_pdf_report(srv: LiveServer, tmp_path: Path) -> None:
    r = _report(srv, EST, tmp_path / "r.pdf", "--datetime", "2020-01-01T00:00:00Z/..")
    assert r.exit_code == 0, r.output
    pdf = (tmp_path / "r.pdf").read_bytes()
    assert pdf.startswith(b"%PDF") and pdf.count(b"/Type /Page\n") + pdf.count(b"/Type /Page ") >= 3


def test_bad_input_is_named(srv: LiveServer, tmp_path: Path) -> None:
    r = CliRunner().invoke(cli, ["report", "--url", srv.url, "--token", "forged", "--bbox", "15,54,30,61",
                                 "-o", str(tmp_path / "x.html")])
    assert r.exit_code == 2 and "401" in r.output and not (tmp_path / "x.html").exists()
    r = _report(srv, EST, tmp_path / "y.html")
    r = CliRunner().invoke(cli, ["report", "--url", srv.url, "--token", srv.token(EST), "--bbox", "15,54,30",
                                 "-o", str(tmp_path / "z.html")])
    assert r.exit_code == 2 and "bbox" in r.output
    r = CliRunner().invoke(cli, ["report", "--url", srv.url, "--token", srv.token(EST), "--bbox", "15,54,30,61",
                                 "--datetime", "yesterday", "-o", str(tmp_path / "z.html")])
    assert r.exit_code == 2 and "datetime" in r.output and not (tmp_path / "z.html").exists()


def test_an_unreachable_server_is_one_line_naming_the_url(tmp_path: Path) -> None:
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    for args in (["report", "--bbox", "15,54,30,61", "-o", str(tmp_path / "x.html")],
                 ["subscribe", "--collection", "sar"]):
        r = CliRunner().invoke(cli, [*args, "--url", url, "--token", "t"])
        assert r.exit_code == 2 and "--url" in r.output and "cannot reach" in r.output, r.output
        assert r.exception is None or isinstance(r.exception, SystemExit)  # no traceback
    assert not (tmp_path / "x.html").exists()
