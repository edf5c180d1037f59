"""`/docs` works offline: the page names no other host, and every asset it needs is served here."""

from __future__ import annotations

from urllib.parse import urlsplit

import httpx
from lxml import html

from tests.web.conftest import LiveServer


def test_docs_reference_no_external_host_and_their_assets_are_served(live_server: LiveServer) -> None:
    with httpx.Client(base_url=live_server.url, timeout=10) as client:
        page = client.get("/docs")
        assert page.status_code == 200
        tree = html.fromstring(page.text)
        references = [str(v) for v in tree.xpath("//script/@src | //link/@href | //img/@src")]
        assert len(references) >= 3
        for reference in references:
            parts = urlsplit(reference)
            assert not parts.scheme and not parts.netloc, f"external asset: {reference}"
            asset = client.get(reference)
            assert asset.status_code == 200 and len(asset.content) > 500, reference
        inline = " ".join(str(text) for text in tree.xpath("//script/text()"))
        assert "http://" not in inline and "https://" not in inline  # no CDN named in the set-up script
        assert "/openapi.json" in inline
        assert client.get("/openapi.json").json()["info"]["title"] == "Passerelle LHÉO"
        assert client.get("/docs/assets/../../../etc/passwd").status_code == 404
        assert client.get("/docs/assets/index.html").status_code == 404  # only the files the page needs
