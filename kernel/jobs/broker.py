"""The embedded broker: kombu's filesystem transport, each message written whole before a
worker can see it.

kombu's own `_put` creates the message file under its final name and only then writes into it,
while a worker polling the folder takes (moves and reads) every file with that name: a worker
that looks in between reads an empty file, and the message is lost (the job it carried waits
for ever, or the worker stops on the unreadable message). Here the message is written under a
name no worker reads (`….msg.partial`) and renamed into place, which is atomic on one file
system, so a worker sees a message whole or not at all."""

from __future__ import annotations

import os
import uuid
from time import monotonic
from typing import Any

from kombu.exceptions import ChannelError
from kombu.transport import filesystem
from kombu.utils.encoding import str_to_bytes
from kombu.utils.json import dumps


class Channel(filesystem.Channel):
    # kombu's filesystem Channel._put has this signature, wider than the abstract one.
    def _put(self, queue: str, payload: Any, **kwargs: Any) -> None:  # type: ignore[override]
        # The name kombu gives (`_get` reads "<ms>_<uuid>.<queue>.msg" in name order).
        name = f"{round(monotonic() * 1000)}_{uuid.uuid4()}.{queue}.msg"
        final = os.path.join(self.data_folder_out, name)
        partial = f"{final}.partial"
        try:
            with open(partial, "wb", buffering=0) as message:
                message.write(str_to_bytes(dumps(payload)))
            os.replace(partial, final)
        except OSError as error:
            raise ChannelError(f"Cannot add file {final!r} to directory") from error


class Transport(filesystem.Transport):
    Channel = Channel
