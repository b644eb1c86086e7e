"""Console forms: the posted fields, checked here with each error kept next to its field in
the user's language; a domain error from the service is mapped to the field it concerns
(by its problem code) or shown above the form."""

from __future__ import annotations

from collections.abc import Awaitable, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from litestar import Request

from flexunion.console.i18n import Speaker
from flexunion.core.errors import DomainError


@dataclass(slots=True)
class Form:
    t: Speaker
    values: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    problem: str | None = None  # an error that belongs to no one field
    status: int = 422
    keep: bool = False  # the refusal's writes must be kept (uow.keep_on_error)

    @property
    def ok(self) -> bool:
        return not self.errors and self.problem is None

    def text(self, name: str, *, required: bool = True, min_length: int = 1,
             max_length: int = 500) -> str | None:
        value = self.values.get(name, "").strip()
        if not value:
            if required:
                self.errors[name] = self.t("此项必填。", "This field is required.")
            return None
        if len(value) < min_length:
            self.errors[name] = self.t(f"至少 {min_length} 个字符。",
                                       f"At least {min_length} characters.")
        elif len(value) > max_length:
            self.errors[name] = self.t(f"最多 {max_length} 个字符。",
                                       f"At most {max_length} characters.")
        return value

    def choice(self, name: str, options: Iterable[str], *, required: bool = True) -> str | None:
        value = self.values.get(name, "").strip()
        if not value and not required:
            return None
        if value not in set(options):
            self.errors[name] = self.t("请从列表中选择。", "Choose one of the options.")
            return None
        return value

    def refused(self, exc: DomainError, fields: dict[str, str] | None = None) -> None:
        """The service said no: next to the field its code concerns, else above the form."""
        self.status = exc.status
        where = (fields or {}).get(exc.code)
        if where:
            self.errors[where] = self.t.problem(exc)
        else:
            self.problem = self.t.problem(exc)
        if exc.commit_writes:  # e.g. a failed-login counter: kept although refused
            self.keep = True



T = TypeVar("T")


async def attempt(form: Form, work: Awaitable[T], fields: dict[str, str] | None = None) -> T | None:
    """Run one service call for the form: its answer; or, refused, None with the refusal
    kept on the form — check `form.ok`, and re-render the page with `form.status`. Not
    found is not the form's business: it propagates to the 404 page.

        await attempt(form, service.add_supply(session, caller, code, data, now), FIELDS)
        if not form.ok:
            return await page(..., form=form, status=form.status)
        return see_other(".../?done=supply")
    """
    try:
        return await work
    except DomainError as exc:
        if exc.status == 404:
            raise
        form.refused(exc, fields)
        return None


async def read_form(request: Request[Any, Any, Any], t: Speaker) -> Form:
    data = await request.form()
    values = {k: v for k, v in data.items() if isinstance(v, str) and k != "_csrf"}
    return Form(t, values)
