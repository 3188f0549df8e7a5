"""What a job's page shows once the job has ended, as the browser ends up showing it: the full
page as loaded, and the polled progress fragment, whose status badge replaces the page's own
(htmx out-of-band swap)."""

import re

_STATUS_BADGE = re.compile(
    r'<span id="job-status"(?P<attributes>[^>]*)>(?P<badge>.*?)</span>\s*</span>'
)


def status_badge(html: str, *, polled: bool) -> str:
    """The text of the page's status badge; in a polled fragment, the one it swaps in."""
    match = _STATUS_BADGE.search(html)
    assert match is not None, "no status badge"
    assert ('hx-swap-oob="true"' in match["attributes"]) == polled
    return re.sub(r"<[^>]+>", "", match["badge"]).strip()


def assert_job_page_shows(client, page_url: str, progress_url: str, status_label: str) -> None:
    """Every status the page and its polled panel show is the job's own: none still says
    Queued once the job has ended."""
    page = client.get(page_url).content.decode()
    fragment = client.get(progress_url).content.decode()
    assert status_badge(page, polled=False) == status_label
    assert status_badge(fragment, polled=True) == status_label
    assert "Queued" not in page
    assert "Queued" not in fragment
