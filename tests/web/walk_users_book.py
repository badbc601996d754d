"""The browser walk's Users and Address book steps (tests/web/test_browser_walk.py runs them):
create a user and give it a port; import contacts from a file in the iSMS export layout and see
them listed with their groups."""
from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from browser import Walk

ISMS_EXPORT = ("\ufeffGroup,Mobile Number,First Name,Last Name\r\n"
               "sales;vip,+1 (555) 010-0001,Ann,Lee\r\n"
               ",555.010.0002,Bob,\r\n")


def users(w: Walk, daemon: Any) -> None:
    w.click_nav("Users")
    w.fill("name", "clerk")
    w.fill("password", "clerk-pass-1")
    w.fill("password2", "clerk-pass-1")
    w.fill("credits", "250")
    w.submit("Create user")
    w.wait_text("User clerk created.")
    w.driver.find_element("css selector", "input[name=port][value='1']").click()
    w.submit("Save")
    w.wait_text("User clerk: saved.")
    w.shot("user-edit")
    w.click_nav("Users")
    w.wait(lambda: w.driver.current_url.endswith("/users"), what="the list of users")
    row = w.driver.find_element("xpath", "//tr[td/a[normalize-space()='clerk']]").text
    assert "250" in row and "Web console" in row, row
    w.shot("users")


def book(w: Walk, daemon: Any) -> None:
    w.click_nav("Address book")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "isms-export.csv"
        path.write_text(ISMS_EXPORT, encoding="utf-8")
        w.driver.find_element("css selector", "input[name=file]").send_keys(str(path))
        w.submit("Import")
        w.wait_text("2 contacts imported.")
    text = w.text()
    assert "Ann Lee" in text and "+15550100001" in text and "sales, vip" in text, text
    w.shot("book")
