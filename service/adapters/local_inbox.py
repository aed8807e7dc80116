"""The ``local`` AltinnInbox: the Altinn copy is the letter in our own tables, read at ``/inbox/``.

Nothing travels: the copy exists once the insert (or the BackupAltinn fallback) has committed it, and
its status is written by the inbox itself (``service_layer/inbox.py``: Read, Confirmed). So the local
backend enqueues no jobs; this adapter is the port's other half, for the composition root and tests.
"""

from __future__ import annotations

from datetime import UTC, datetime

from ..domain.ports import AltinnLetter, CopyStatus, PublishedCopy


class LocalInbox:
    def publish(self, letter: AltinnLetter) -> PublishedCopy:
        return PublishedCopy(f"local:{letter.system_user_code}/{letter.reference}", "Published")

    def status(self, correspondence_id: str) -> CopyStatus:
        return CopyStatus(correspondence_id, "Published", (("Published", datetime.now(UTC)),))
