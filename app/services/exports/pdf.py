"""(being written)"""

from app.services.exports.content import ExportContent


def render_pdf(content: ExportContent) -> bytes:
    raise NotImplementedError
