"""The PDF: the report's HTML rendered by WeasyPrint (Debian's pango), nothing fetched online.

Fonts come from matplotlib's bundled DejaVu files (always installed with riskwatch), so the PDF
looks the same on any machine and needs no network; the fetcher refuses every URL that is not
inline data or one of those font files.
"""

from __future__ import annotations

from pathlib import Path

FONTS = {
    ("normal", "normal"): "DejaVuSans.ttf",
    ("bold", "normal"): "DejaVuSans-Bold.ttf",
    ("normal", "italic"): "DejaVuSans-Oblique.ttf",
}


class PdfUnavailable(RuntimeError):
    """WeasyPrint or its system libraries (pango) are missing: the report has no PDF."""


def font_dir() -> Path:
    """matplotlib's folder of bundled DejaVu fonts."""
    import matplotlib

    return Path(matplotlib.get_data_path()) / "fonts" / "ttf"


def font_css() -> str:
    """``@font-face`` rules for the bundled fonts (PDF only: the HTML holds no file URLs)."""
    folder = font_dir()
    return "".join(
        f'@font-face{{font-family:"DejaVu Sans";font-weight:{weight};font-style:{style};'
        f'src:url("{(folder / name).as_uri()}")}}'
        for (weight, style), name in FONTS.items()
        if (folder / name).is_file()
    )


def render_pdf(html: str) -> bytes:
    """The PDF of ``html`` (A4 pages by its print CSS).

    Raises:
        PdfUnavailable: WeasyPrint cannot be imported (package or pango libraries missing).
    """
    try:
        import weasyprint  # type: ignore[import-untyped, import-not-found, unused-ignore]
        from weasyprint.urls import (  # type: ignore[import-untyped, import-not-found, unused-ignore]
            URLFetcher,
        )
    except (ImportError, OSError) as exc:  # OSError: the pango libraries are not installed
        raise PdfUnavailable(
            f"no PDF: WeasyPrint is not usable ({str(exc).splitlines()[0][:120]}); install it "
            "with `pip install weasyprint` and Debian's libpango-1.0-0 libpangoft2-1.0-0"
        ) from None
    fonts = font_dir().resolve()

    class _Offline(URLFetcher):  # type: ignore[misc, unused-ignore]
        def fetch(self, url: str, headers: dict[str, str] | None = None) -> object:
            if url.startswith("file:") and not Path(url[7:]).resolve().is_relative_to(fonts):
                raise ValueError(f"not fetched: {url[:80]}")
            return super().fetch(url, headers)

    fetcher = _Offline(allowed_protocols=("data", "file"))
    document = weasyprint.HTML(string=html, url_fetcher=fetcher, base_url=fonts.as_uri())
    pdf = document.write_pdf(stylesheets=[weasyprint.CSS(string=font_css(), url_fetcher=fetcher)])
    return bytes(pdf or b"")
