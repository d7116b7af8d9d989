"""One page of a list that grows without bound (activity, users, rounds, exports, reminders ...).

`paginate(stmt, page)` runs two statements whatever the data: one COUNT of the whole list and
one SELECT of the page with LIMIT and OFFSET. The page number comes as the query string gave it:
anything that is not a whole number (missing, "abc", "2.5") means page 1; a number that is not
one of the list's pages ("0", "7" of 5, a number too long for any database) is a 404, found from
the count before any OFFSET reaches the database. Page 1 always exists, even of an empty list.

Page sizes come from the configuration: PAGE_SIZE for tables, PAGE_SIZE_CARDS for lists whose
items are large (the CSP home page's contributions, the texts of merged revisions).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from flask import current_app
from sqlalchemy import Select, func, select
from werkzeug.exceptions import NotFound

from app.extensions import db

T = TypeVar("T")
U = TypeVar("U")

# Page numbers with more digits than this are never real pages (nor fit in a 64-bit OFFSET).
MAX_DIGITS = 15


class PageNotFound(NotFound):
    """Asked for a page the list does not have: shown as "Page not found"."""


def page_size(kind: str = "table") -> int:
    return current_app.config["PAGE_SIZE_CARDS" if kind == "cards" else "PAGE_SIZE"]


def requested_number(value: Any) -> int:
    """The page number asked for: 1 unless `value` is a whole number written in digits; any
    number written in digits comes back as it is (0 and huge numbers are refused by paginate)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    text = str(value).strip() if value is not None else ""
    if not (text.isascii() and text.isdigit()):
        return 1
    if len(text.lstrip("0")) > MAX_DIGITS:
        return 0  # never a page
    return int(text)


@dataclass(frozen=True)
class Page(Generic[T]):
    """The items of one page and where it is in the list. Iterating, len() and truth are the
    page's items', so a template can use a Page where it used the whole list."""

    items: list[T]
    number: int
    per_page: int
    total: int

    def __iter__(self) -> Iterator[T]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index):
        return self.items[index]

    def __bool__(self) -> bool:
        return bool(self.items)

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def has_next(self) -> bool:
        return self.number < self.pages

    @property
    def first(self) -> int:
        """The position in the whole list of the page's first item (1 for the first page)."""
        return (self.number - 1) * self.per_page + 1 if self.items else 0

    @property
    def last(self) -> int:
        return self.first + len(self.items) - 1 if self.items else 0

    def numbers(self, around: int = 1) -> list[int | None]:
        """The page numbers to link to, GOV.UK style: the first, the last, this one and `around`
        on each side of it, with None where pages are left out (shown as an ellipsis)."""
        wanted = {1, self.pages, *range(self.number - around, self.number + around + 1)}
        shown: list[int | None] = []
        for n in sorted(n for n in wanted if 1 <= n <= self.pages):
            if shown and n - shown[-1] == 2:  # one page left out: show it rather than "..."
                shown.append(n - 1)
            elif shown and n - shown[-1] > 2:
                shown.append(None)
            shown.append(n)
        return shown

    def map(self, fn: Callable[[T], U]) -> Page[U]:
        """The same page with each item replaced by fn(item)."""
        return Page([fn(item) for item in self.items], self.number, self.per_page, self.total)


def paginate(stmt: Select, page: Any = 1, per_page: int | None = None) -> Page:
    """One page of the rows of `stmt` (which must have its ORDER BY, ending with a unique column so
    that pages never overlap): its entities for a select of one entity, else its rows."""
    per_page = per_page or page_size()
    number = requested_number(page)
    total = db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    pages = max(1, -(-total // per_page))
    if not 1 <= number <= pages:
        raise PageNotFound()
    stmt = stmt.limit(per_page).offset((number - 1) * per_page)
    if len(stmt.column_descriptions) == 1:
        items = list(db.session.scalars(stmt))
    else:
        items = list(db.session.execute(stmt).all())
    return Page(items, number, per_page, total)


def empty(page: Any = 1, per_page: int | None = None) -> Page:
    """The one page of a list that has nothing in it yet (without asking the database)."""
    if requested_number(page) != 1:
        raise PageNotFound()
    return Page([], 1, per_page or page_size(), 0)


def head(stmt: Select, n: int) -> tuple[list, bool]:
    """The first n entities of `stmt` and whether there are more: one query, no count (for a page
    that shows the latest few and links to the whole list)."""
    items = list(db.session.scalars(stmt.limit(n + 1)))
    return items[:n], len(items) > n
