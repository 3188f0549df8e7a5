"""What every serializer of a record as the API shows it shares."""

from __future__ import annotations

from typing import Any


class ReadOnlyBlanks:
    """For ModelSerializers whose fields are read-only: a text field the model lets be blank
    keeps `allow_blank`, which DRF drops from read-only fields. The schema then says that ""
    may come back (a website, a choice left empty), instead of promising a URL or one of the
    choices that an empty field cannot keep."""

    def include_extra_kwargs(self, kwargs: dict[str, Any], extra_kwargs: dict[str, Any]) -> Any:
        allow_blank = kwargs.get("allow_blank", False)
        kwargs = super().include_extra_kwargs(kwargs, extra_kwargs)  # type: ignore[misc]
        if allow_blank and kwargs.get("read_only"):
            kwargs["allow_blank"] = True
        return kwargs
