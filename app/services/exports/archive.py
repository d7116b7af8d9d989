"""(being written)"""

from app.services.exports.content import ExportContent


def render_zip(content: ExportContent) -> bytes:
    raise NotImplementedError
