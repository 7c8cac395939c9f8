"""Who an installation is in email and calendars: its domain and its mailbox.

UIDs and Message-IDs end in the domain of `WALKABOUT_BASE_URL` (or of the
mail-from address when the base URL is this machine), so two installations
(a trust and its training copy) never make the same UID.
"""

from email.utils import parseaddr
from urllib.parse import urlsplit

LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1", "0.0.0.0"}


def mail_domain(config: dict) -> str:
    """The domain UIDs and Message-IDs end in."""
    host = (urlsplit(config["BASE_URL"]).hostname or "").lower()
    from_domain = mailbox(config)[1].rpartition("@")[2].lower()
    if (not host or host in LOCAL_HOSTS) and from_domain:
        return from_domain
    return host or "localhost"


def mailbox(config: dict) -> tuple[str, str]:
    """(display name, address) of the configured sender, the ORGANIZER of every invitation."""
    name, address = parseaddr(config["MAIL_FROM"])
    return name or "Walkabout", address
