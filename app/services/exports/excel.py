"""(being written)"""

from app.services.exports.content import ExportContent


def render_xlsx(content: ExportContent) -> bytes:
    raise NotImplementedError
