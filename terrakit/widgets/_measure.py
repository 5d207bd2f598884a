"""Count what widgets send to the front end (for tests and benchmarks)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Message", "record_messages"]


@dataclass
class Message:
    """One comm message: its type, the widget's model id, its JSON size."""

    msg_type: str
    model_id: str
    nbytes: int
    data: dict[str, Any] = field(repr=False)


@contextmanager
def record_messages() -> Iterator[list[Message]]:
    """Record every comm message widgets publish inside the block.

    Patches ``publish_msg`` of the comm classes in use (the kernel's comm or
    the stand-in used outside a kernel), so messages are still delivered.
    ``nbytes`` is the length of the JSON-encoded ``data`` plus binary buffers.

    Examples
    --------
    >>> import ipywidgets as W
    >>> s = W.IntSlider()
    >>> with record_messages() as sent:
    ...     s.value = 3
    >>> [(m.msg_type, m.data["state"]) for m in sent]
    [('comm_msg', {'value': 3})]
    """
    from comm.base_comm import BaseComm

    classes, todo = [], [BaseComm]
    while todo:  # every comm class that defines its own publish_msg
        cls = todo.pop()
        todo.extend(cls.__subclasses__())
        if "publish_msg" in cls.__dict__:
            classes.append(cls)
    sent: list[Message] = []
    originals = {cls: cls.publish_msg for cls in classes}

    def wrap(orig: Any) -> Any:
        def publish_msg(
            self: Any,
            msg_type: str,
            data: Any = None,
            metadata: Any = None,
            buffers: Any = None,
            **keys: Any,
        ) -> Any:
            size = len(json.dumps(data or {}, separators=(",", ":"), default=str))
            size += sum(len(memoryview(b).cast("B")) for b in buffers or ())
            sent.append(Message(msg_type, str(self.comm_id), size, dict(data or {})))
            return orig(self, msg_type, data, metadata, buffers, **keys)

        return publish_msg

    try:
        for cls, orig in originals.items():
            cls.publish_msg = wrap(orig)  # type: ignore[method-assign]
        yield sent
    finally:
        for cls, orig in originals.items():
            cls.publish_msg = orig  # type: ignore[method-assign]
