"""HTTP answers of the query service against expected objects (`check.py api`, `psy.py`).

`get_all` pages through a list (`limit`/`offset`) until a short page, so no list is cut at the
API's page cap; `compare_list` holds a list to the expected items in the documented order,
position by position, every field of each.
"""
import json
import urllib.error
import urllib.request

PAGE = 1000  # the API's largest `limit`


def get(url):
    """(status, JSON body) of a GET; status 0 when nothing answered."""
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        body = e.read()
        try:
            return e.code, json.loads(body or b"null")
        except ValueError:
            return e.code, body.decode(errors="replace")
    except (urllib.error.URLError, OSError) as e:
        return 0, f"no answer: {e}"


def get_all(base, path, problems, page=PAGE):
    """Every item of a paginated list, in the API's order; None on an error. A page longer than
    asked for, or one repeating an earlier page, is a problem (paging that does not advance)."""
    items, offset, pages = [], 0, []
    while True:
        sep = "&" if "?" in path else "?"
        status, body = get(f"{base}{path}{sep}limit={page}&offset={offset}")
        if status != 200 or not isinstance(body, list):
            problems.append(f"{path} offset {offset}: status {status} {str(body)[:200]}")
            return None
        if len(body) > page:
            problems.append(f"{path} offset {offset}: {len(body)} items for limit {page}")
            return None
        if body and body in pages:
            problems.append(f"{path} offset {offset}: the same page as an earlier offset (offset ignored)")
            return None
        pages.append(body)
        items.extend(body)
        if len(body) < page:
            return items
        offset += page


def compare_object(where, got, want, problems):
    """Every field of an API object against the expected one: same keys, same values."""
    if not isinstance(got, dict):
        problems.append(f"{where}: not an object: {str(got)[:200]}")
        return
    if set(got) != set(want):
        problems.append(f"{where}: fields {sorted(got)}, expected {sorted(want)}")
    for field, value in want.items():
        if field in got and got[field] != value:
            problems.append(f"{where}: {field} = {got[field]!r}, the sent history gives {value!r}")


def compare_list(where, got, want, problems, key=None):
    """A list against the expected items in their order: the same length, and item i equal to
    expected item i, field by field. `key` names an item (for the messages)."""
    if got is None:
        return
    name = (lambda item: f" ({item.get(key)!r})" if isinstance(item, dict) else "") if key else (lambda item: "")
    if len(got) != len(want):
        problems.append(f"{where}: {len(got)} items, the sent history gives {len(want)}")
    for at, (g, w) in enumerate(zip(got, want)):
        if key and isinstance(g, dict) and g.get(key) != w.get(key):
            problems.append(f"{where}: item {at} is {g.get(key)!r}, the documented order puts {w.get(key)!r} there")
            continue
        compare_object(f"{where} item {at}{name(w)}", g, w, problems)
