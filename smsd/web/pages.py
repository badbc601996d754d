"""The console's pages and who may use them: the ONE table (docs/web-console.md repeats it).

Every page needs the `web` permission to sign in at all. `need` says what else it takes:
  "web"    everybody who may sign in (what they see is still only their own: the service's
           ownership policy decides, smsd/service/access.py);
  "ports"  an admin or the `ports` permission;
  "admin"  an admin.
A page a user may not use is left out of their navigation and answers 403 when typed in.
"""
from __future__ import annotations

from dataclasses import dataclass

from smsd.service.access import Access


@dataclass(frozen=True)
class Page:
    title: str          # the navigation's link text (a contract: tests and users look for it)
    path: str
    need: str           # "web", "ports" or "admin"


PAGES: tuple[Page, ...] = (
    Page("Dashboard", "/dashboard", "web"),
    Page("Send", "/send", "web"),
    Page("Outbox", "/outbox", "web"),
    Page("Inbox", "/inbox", "web"),
    Page("Users", "/users", "admin"),
    Page("Address book", "/book", "web"),
    Page("Ports", "/ports", "ports"),
    Page("Routing", "/routing", "admin"),
    Page("Network", "/network", "admin"),
    Page("System", "/system", "admin"),
)
BY_PATH = {page.path: page for page in PAGES}
# Pages outside the navigation: one's own password, reached from the user name in the header.
ACCOUNT = Page("Your password", "/users/password", "web")
HOME = "/dashboard"


def may_use(access: Access, page: Page) -> bool:
    if page.need == "admin":
        return access.admin
    if page.need == "ports":
        return access.controls_ports
    return access.admin or "web" in access.perms


def navigation(access: Access) -> list[Page]:
    return [page for page in PAGES if may_use(access, page)]


def page_at(path: str) -> Page:
    """The table's entry for a page path (the section it belongs to: "/outbox/export" ->
    "/outbox"); KeyError for a path the table lacks (a programming error)."""
    return BY_PATH["/" + path.strip("/").split("/")[0]]


def may_use_console(access: Access) -> bool:
    """May sign in at all: an admin or the `web` permission."""
    return access.admin or "web" in access.perms
