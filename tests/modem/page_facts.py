#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""What each uplink's card of the rendered page shows, as JSON (for netns_modem_page).

    page_facts.py DOM.html

Reads Chromium's --dump-dom of the operator's page and prints one JSON
object: {"up0": {...}, "up1": {...}}, each card's radio as the operator sees
it: data-radio ("modem", "alert" or ""), the bars lit and data-bars, the
technology, the operator, the alert (its text; null when hidden), and the
PIN form (hidden or not, its field's type and autocomplete, the form's
autocomplete, the attempts left it shows, the field's value attribute).
"""
import json
import sys
from html.parser import HTMLParser


class Cards(HTMLParser):
    def __init__(self):
        super().__init__()
        self.cards = {}
        self.card = None
        self.depth = 0  # the open divs of the card
        self.text_of = None  # the class whose text is being read

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        cls = (a.get("class") or "").split()
        if tag == "div" and a.get("id", "").startswith("uplink-") and "uplink" in cls:
            self.card = {"radio": a.get("data-radio", ""), "state": a.get("data-state"),
                         "bars_lit": 0, "bars": None, "tech": "", "operator": "",
                         "alert": None, "pin_form": None}
            self.cards[a["id"][len("uplink-"):]] = self.card
            self.depth = 0
        if not self.card:
            return
        if tag == "div":
            self.depth += 1
        if "bars" in cls:
            self.card["bars"] = a.get("data-bars")
        if tag == "i" and "on" in cls:
            self.card["bars_lit"] += 1
        for name in ("tech", "operator", "left", "answer"):
            if name in cls:
                self.text_of = name
        if "alert" in cls:
            self.text_of = None if "hidden" in a else "alert"
            if "hidden" not in a:
                self.card["alert"] = ""
        if tag == "form" and "pinform" in cls:
            self.card["pin_form"] = {"hidden": "hidden" in a,
                                     "autocomplete": a.get("autocomplete"), "left": "",
                                     "answer": ""}
        if tag == "input" and "pin" in cls and self.card["pin_form"] is not None:
            self.card["pin_form"].update(type=a.get("type"), field_autocomplete=a.get(
                "autocomplete"), value=a.get("value"))

    def handle_endtag(self, tag):
        if not self.card:
            return
        self.text_of = None
        if tag == "div":
            self.depth -= 1
            if self.depth == 0:
                self.card = None

    def handle_data(self, data):
        if not self.card or not self.text_of:
            return
        if self.text_of in ("left", "answer"):
            if self.card["pin_form"] is not None:
                self.card["pin_form"][self.text_of] += data
        elif self.text_of == "alert":
            self.card["alert"] = (self.card["alert"] or "") + data
        else:
            self.card[self.text_of] += data


def main():
    p = Cards()
    with open(sys.argv[1], encoding="utf-8") as f:
        p.feed(f.read())
    print(json.dumps(p.cards))
    return 0


if __name__ == "__main__":
    sys.exit(main())
