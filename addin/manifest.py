"""The Outlook add-in manifest: rendered from configuration, checked offline.

Microsoft's validator (``office-addin-manifest validate``) only runs online, so ``validate`` is
the project's own check of what Office refuses or we promise: element order, required elements,
permission values, resource references, GUIDs, https URLs and string lengths. Each rule cites
the learn.microsoft.com page it comes from (``/javascript/api/manifest/...`` unless noted).

Run ``python -m addin.manifest [--dev] FILE``: prints the problems, exits 1 if there are any.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from lxml import etree  # type: ignore[import-untyped]

from config import ConfigError

HERE = Path(__file__).resolve().parent
TEMPLATE = "manifest.xml.j2"
ADDIN_ID = "33b7c39d-74fe-41e9-862d-0b4a40da1312"  # the add-in's own identity; never reuse
VERSION = "1.0.0.0"

# Configuration names, each documented in docs/addin.md; the App ID URI default is derived.
CONFIG_DEFAULTS: dict[str, str] = {
    "RAPPORT_PUBLIC_URL": "http://127.0.0.1:5000",
    "RAPPORT_CLIENT_ID": "787a47a5-9979-4825-9055-e64fca2fc47b",  # dev only: register your own
    "RAPPORT_APP_ID_URI": "",  # empty: api://<host of RAPPORT_PUBLIC_URL>/<client id>
}

GUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
# RFC 3986 unreserved, ":", "/", "%" and brackets for IPv6: no quotes, angle brackets, spaces.
SAFE_URL = re.compile(r"[A-Za-z0-9\-._~:/%\[\]]+")
LOOPBACK = {"127.0.0.1", "localhost", "::1"}


@dataclass(frozen=True)
class ManifestSettings:
    base_url: str  # scheme://host[:port][/path], no trailing slash
    client_id: str
    app_id_uri: str
    dev: bool

    @property
    def taskpane_url(self) -> str:
        return f"{self.base_url}/addin/taskpane.html"


def settings_from_config(config: Mapping[str, Any]) -> ManifestSettings:
    """The manifest's settings; raises ConfigError naming the offending setting."""
    values = {name: str(config.get(name) or default) for name, default in CONFIG_DEFAULTS.items()}
    base = values["RAPPORT_PUBLIC_URL"].rstrip("/")
    _check_url_setting("RAPPORT_PUBLIC_URL", base, schemes={"http", "https"})
    client_id = values["RAPPORT_CLIENT_ID"]
    if not GUID.fullmatch(client_id):
        raise ConfigError(
            f"RAPPORT_CLIENT_ID must be an Entra application (client) id, a GUID; got {client_id!r}"
        )
    app_id_uri = values["RAPPORT_APP_ID_URI"] or f"api://{urlsplit(base).netloc}/{client_id}"
    _check_url_setting("RAPPORT_APP_ID_URI", app_id_uri, schemes={"api"})
    dev = str(config.get("RAPPORT_ENV", "development")).lower() != "production"
    return ManifestSettings(base, client_id, app_id_uri, dev)


def _check_url_setting(name: str, value: str, *, schemes: set[str]) -> None:
    if not SAFE_URL.fullmatch(value):
        raise ConfigError(
            f"{name} may hold only URL characters (no quotes, <, >, spaces, ?, #); got {value!r}"
        )
    parts = urlsplit(value)
    if parts.scheme not in schemes or not parts.hostname:
        wanted = " or ".join(sorted(f"{s}://host" for s in schemes))
        raise ConfigError(f"{name} must look like {wanted}; got {value!r}")


@cache
def _environment() -> Environment:
    # Autoescaping makes every substituted value safe in XML text and attributes.
    return Environment(
        loader=FileSystemLoader(HERE),
        autoescape=True,
        undefined=StrictUndefined,
        keep_trailing_newline=True,
    )


def render(settings: ManifestSettings) -> bytes:
    """The manifest XML for ``settings`` (UTF-8)."""
    template = _environment().get_template(TEMPLATE)
    text = template.render(
        addin_id=ADDIN_ID,
        version=VERSION,
        base=settings.base_url,
        taskpane=settings.taskpane_url,
        client_id=settings.client_id,
        app_id_uri=settings.app_id_uri,
    )
    return text.encode("utf-8")


# --- offline validation ---------------------------------------------------------------------

NS_APP = "http://schemas.microsoft.com/office/appforoffice/1.1"
NS_VO = {
    "VersionOverridesV1_0": "http://schemas.microsoft.com/office/mailappversionoverrides",
    "VersionOverridesV1_1": "http://schemas.microsoft.com/office/mailappversionoverrides/1.1",
}
XSI_TYPE = "{http://www.w3.org/2001/XMLSchema-instance}type"
PERMISSIONS = ("Restricted", "ReadItem", "ReadWriteItem", "ReadWriteMailbox")  # permissions.md

# Child order per parent, from /office/dev/add-ins/develop/manifest-element-ordering (MailApp,
# VersionOverrides 1.0 and 1.1). Parents in CLOSED may hold nothing else, each child at most once.
# fmt: off
ORDER: dict[str, list[str]] = {
    "OfficeApp": [
        "Id", "AlternateId", "Version", "ProviderName", "DefaultLocale", "DisplayName",
        "Description", "IconUrl", "HighResolutionIconUrl", "SupportUrl", "AppDomains", "Hosts",
        "Requirements", "FormSettings", "Permissions", "Rule", "DisableEntityHighlighting",
        "VersionOverrides",
    ],
    "VersionOverrides": [
        "Description", "Requirements", "Hosts", "Resources", "VersionOverrides",
        "WebApplicationInfo", "EquivalentAddins", "ConnectedServiceControls", "ExtendedPermissions",
    ],
    "Resources": ["Images", "Urls", "ShortStrings", "LongStrings"],
    "WebApplicationInfo": ["Id", "Resource", "Scopes"],
    "Control": ["Label", "Supertip", "Icon", "Action"],
    "Supertip": ["Title", "Description"],
    "DesktopSettings": ["SourceLocation", "RequestedHeight"],
}
CLOSED = {"OfficeApp", "VersionOverrides", "Resources", "WebApplicationInfo"}
# officeapp.md lists the first eight as required for mail add-ins; Permissions (least privilege
# stated, not defaulted) and VersionOverrides (the commands) are this project's rules.
REQUIRED: dict[str, list[str]] = {
    "OfficeApp": [
        "Id", "Version", "ProviderName", "DefaultLocale", "DisplayName", "Description",
        "FormSettings", "Rule", "Permissions", "VersionOverrides",
    ],
    "WebApplicationInfo": ORDER["WebApplicationInfo"],  # webapplicationinfo.md
    "Supertip": ORDER["Supertip"],
}
# fmt: on
# Which Resources list a resid may name, by the referring element (resources.md, action.md).
RESID_KINDS: dict[str, set[str]] = {
    "Image": {"Images"},
    "SourceLocation": {"Urls"},
    "FunctionFile": {"Urls"},
    "LearnMoreUrl": {"Urls"},
    "Label": {"ShortStrings"},
    "Title": {"ShortStrings"},
    "Tooltip": {"LongStrings"},
    "Description": {"LongStrings"},  # a Supertip's; VersionOverrides' may name either, see below
}
# Maximum lengths: displayname.md, description.md, providername.md, string.md, resources.md.
MAX_SHORT, MAX_LONG, MAX_URL, MAX_ID = 125, 250, 2048, 32
MAX_LENGTH = {"ShortStrings": MAX_SHORT, "LongStrings": MAX_LONG}  # Urls, Images: MAX_URL
URL_ELEMENTS = ("IconUrl", "HighResolutionIconUrl", "SupportUrl", "SourceLocation", "Image", "Url")
UNSAFE_URL = re.compile(r"[\s\"'<>\\^`{|}]")

Check = Callable[[Any, bool], list[str]]


def _name(element: Any) -> str:
    return str(etree.QName(element).localname)


def _children(element: Any) -> list[Any]:
    return [child for child in element if isinstance(child.tag, str)]


def _at(element: Any) -> str:
    return f"line {element.sourceline}: <{_name(element)}>"


def _elements(root: Any, name: str) -> list[Any]:
    return [e for e in root.iter() if isinstance(e.tag, str) and _name(e) == name]


def _scope(element: Any) -> Any:
    """The nearest enclosing VersionOverrides: resources are looked up there, not inherited."""
    return next((a for a in element.iterancestors() if _name(a) == "VersionOverrides"), None)


def validate(xml: bytes, *, dev: bool) -> list[str]:
    """Human-readable problems with the manifest ``xml``; empty when it passes.

    ``dev`` allows http URLs on 127.0.0.1/localhost; everything else must be https.
    """
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    try:
        root = etree.fromstring(xml, parser)
    except etree.XMLSyntaxError as error:
        return [f"not well-formed XML: {error}"]
    if _name(root) != "OfficeApp" or etree.QName(root).namespace != NS_APP:
        return [f'the root must be <OfficeApp xmlns="{NS_APP}">']
    if root.get(XSI_TYPE) != "MailApp":
        return ['<OfficeApp> must have xsi:type="MailApp" (an Outlook add-in)']
    checks: tuple[Check, ...] = (
        _check_order,
        _check_required,
        _check_header,
        _check_permissions,
        _check_version_overrides,
        _check_resources,
        _check_urls,
        _check_sso,
    )
    return [problem for check in checks for problem in check(root, dev)]


def _check_order(root: Any, _dev: bool) -> list[str]:
    problems = []
    for parent in (e for e in root.iter() if isinstance(e.tag, str) and _name(e) in ORDER):
        sequence, closed = ORDER[_name(parent)], _name(parent) in CLOSED
        seen: set[str] = set()
        furthest = ""  # the child furthest along the sequence so far
        for child in _children(parent):
            name = _name(child)
            if name not in sequence:
                if closed:
                    problems.append(f"{_at(child)} is not allowed in <{_name(parent)}>")
                continue
            if name in seen and closed:
                problems.append(f"{_at(child)} appears twice in <{_name(parent)}>")
            elif furthest and sequence.index(name) < sequence.index(furthest):
                problems.append(
                    f"{_at(child)} must come before <{furthest}> in <{_name(parent)}> "
                    "(Office refuses manifests with elements out of order)"
                )
            else:
                furthest = name
            seen.add(name)
    return problems


def _check_required(root: Any, _dev: bool) -> list[str]:
    problems = []
    for parent_name, required in REQUIRED.items():
        for parent in [root] if parent_name == "OfficeApp" else _elements(root, parent_name):
            present = {_name(child) for child in _children(parent)}
            problems += [
                f"{_at(parent)} lacks the required <{name}>"
                for name in required
                if name not in present
            ]
    return problems


def _text(root: Any, name: str) -> str:
    found = [c for c in _children(root) if _name(c) == name]
    return (found[0].text or "").strip() if found else ""


def _check_header(root: Any, _dev: bool) -> list[str]:
    problems = []
    if not GUID.fullmatch(addin_id := _text(root, "Id")):
        problems.append(f"<Id> must be a hyphenated GUID; got {addin_id!r}")  # id.md
    if not re.fullmatch(r"\d{1,5}(\.\d{1,5}){0,3}", version := _text(root, "Version")):
        problems.append(f"<Version> must be n[.n[.n[.n]]], up to 5 digits each; got {version!r}")
    if len(_text(root, "ProviderName")) > MAX_SHORT:
        problems.append(f"<ProviderName> is longer than {MAX_SHORT} characters")
    for name, limit in (("DisplayName", MAX_SHORT), ("Description", MAX_LONG)):
        for element in (c for c in _children(root) if _name(c) == name):
            values = [element.get("DefaultValue")] + [o.get("Value") for o in _children(element)]
            if not values[0]:
                problems.append(f"{_at(element)} needs a DefaultValue")
            problems += [
                f"{_at(element)} text is {len(v)} characters; the limit is {limit}"
                for v in values
                if v and len(v) > limit
            ]
    return problems


def _check_permissions(root: Any, _dev: bool) -> list[str]:
    value = _text(root, "Permissions")
    if value and value not in PERMISSIONS:
        return [f"<Permissions> is {value!r}; a mail add-in may ask for {', '.join(PERMISSIONS)}"]
    return []


def _check_version_overrides(root: Any, _dev: bool) -> list[str]:
    problems = []
    for element in _elements(root, "VersionOverrides"):
        kind, parent = element.get(XSI_TYPE), element.getparent()
        expected_parent = "VersionOverridesV1_0" if kind == "VersionOverridesV1_1" else None
        if kind not in NS_VO:
            problems.append(f"{_at(element)} xsi:type must be one of {', '.join(NS_VO)}")
            continue
        if etree.QName(element).namespace != NS_VO[kind]:
            problems.append(f'{_at(element)} of type {kind} needs xmlns="{NS_VO[kind]}"')
        parent_kind = parent.get(XSI_TYPE) if _name(parent) == "VersionOverrides" else None
        if parent_kind != expected_parent:
            problems.append(
                f"{_at(element)} {kind} must sit in " + (expected_parent or "<OfficeApp>")
            )
        present = {_name(child) for child in _children(element)}
        if kind == "VersionOverridesV1_1":  # versionoverrides-1-1-mail.md
            problems += [
                f"{_at(element)} lacks the required <{n}>"
                for n in ("Hosts", "Resources")
                if n not in present
            ]
    for pinning in _elements(root, "SupportsPinning"):
        if (scope := _scope(pinning)) is None or scope.get(XSI_TYPE) != "VersionOverridesV1_1":
            problems.append(f"{_at(pinning)} needs an enclosing VersionOverridesV1_1 (action.md)")
    surfaces = [
        e
        for e in _elements(root, "ExtensionPoint")
        if e.get(XSI_TYPE) == "MessageReadCommandSurface"
        and any(a.get(XSI_TYPE) == "ShowTaskpane" for a in _elements(e, "Action"))
    ]
    if not surfaces:
        problems.append("no MessageReadCommandSurface button opens a task pane (ShowTaskpane)")
    return problems


def _resources(scope: Any) -> dict[str, tuple[str, Any]]:
    """Resource id -> (list name, element) for the Resources directly inside ``scope``."""
    found: dict[str, tuple[str, Any]] = {}
    for resources in (c for c in _children(scope) if _name(c) == "Resources"):
        for group in _children(resources):
            for item in _children(group):
                found.setdefault(item.get("id") or "", (_name(group), item))
    return found


def _check_resources(root: Any, _dev: bool) -> list[str]:
    problems = []
    for scope in _elements(root, "VersionOverrides"):
        table = _resources(scope)
        for group in (g for r in _children(scope) if _name(r) == "Resources" for g in _children(r)):
            for item in _children(group):
                rid = item.get("id") or ""
                if not rid or len(rid) > MAX_ID or table[rid][1] is not item:
                    problems.append(
                        f"{_at(item)} id {rid!r} must be unique and 1-{MAX_ID} characters"
                    )
                values = [item.get("DefaultValue") or ""] + [
                    o.get("Value") or "" for o in _children(item)
                ]
                limit = MAX_LENGTH.get(_name(group), MAX_URL)
                problems += [
                    f"{_at(item)} {rid!r} is {len(v)} characters; {_name(group)} allow 1-{limit}"
                    for v in values
                    if not 1 <= len(v) <= limit
                ]
        problems += _check_resids(scope, table)
    return problems


def _check_resids(scope: Any, table: dict[str, tuple[str, Any]]) -> list[str]:
    problems = []
    for element in (
        e for e in scope.iter() if isinstance(e.tag, str) and e.get("resid") is not None
    ):
        if _scope(element) is not scope:
            continue  # a nested VersionOverrides has its own resources
        resid, name = element.get("resid"), _name(element)
        wanted = RESID_KINDS.get(name, {"Images", "Urls", "ShortStrings", "LongStrings"})
        if name == "Description" and _name(element.getparent()) == "VersionOverrides":
            wanted = {"ShortStrings", "LongStrings"}  # the docs name both
        if resid not in table:
            problems.append(f'{_at(element)} resid="{resid}" names no resource in its <Resources>')
        elif (kind := table[resid][0]) not in wanted:
            problems.append(
                f'{_at(element)} resid="{resid}" names a {kind} entry; '
                f"<{name}> needs one from {' or '.join(sorted(wanted))}"
            )
    return problems


def _urls(root: Any) -> list[tuple[Any, str, bool]]:
    """(element, URL, must share the add-in's origin) for every URL in the manifest."""
    found = []
    for name in URL_ELEMENTS:
        for element in _elements(root, name):
            if element.get("DefaultValue") is None:
                continue  # a resid reference, checked by _check_resids
            own_origin = name != "SupportUrl"
            found.append((element, element.get("DefaultValue"), own_origin))
            found += [(o, o.get("Value") or "", own_origin) for o in _children(element)]
    found += [(e, (e.text or "").strip(), False) for e in _elements(root, "AppDomain")]
    return found


def _url_problem(url: str, dev: bool) -> str | None:
    parts = urlsplit(url)
    if UNSAFE_URL.search(url) or parts.scheme not in {"http", "https"} or not parts.hostname:
        return "is not an absolute http(s) URL"
    if len(url) > MAX_URL:
        return f"is longer than {MAX_URL} characters"
    if parts.scheme == "http" and not (dev and parts.hostname in LOOPBACK):
        return "must be https (http only for 127.0.0.1/localhost in development)"
    return None


def _check_urls(root: Any, dev: bool) -> list[str]:
    problems, origins = [], set()
    for element, url, own_origin in _urls(root):
        if problem := _url_problem(url, dev):
            problems.append(f"{_at(element)} {url!r} {problem}")
        elif own_origin:
            origins.add(f"{urlsplit(url).scheme}://{urlsplit(url).netloc}")
    if len(origins) > 1:
        problems.append(
            f"the add-in's pages and icons span several origins: {', '.join(sorted(origins))}"
        )
    return problems


def _check_sso(root: Any, _dev: bool) -> list[str]:
    infos = _elements(root, "WebApplicationInfo")
    if not infos:
        return ["no <WebApplicationInfo>: the task pane could not use single sign-on"]
    problems = []
    pane_hosts = {urlsplit(e.get("DefaultValue") or "").hostname for e in _elements(root, "Url")}
    for info in infos:
        client_id, resource = _text(info, "Id"), _text(info, "Resource")
        if not GUID.fullmatch(client_id):
            problems.append(
                f"{_at(info)} <Id> must be the Entra client id (a GUID); got {client_id!r}"
            )
        # /office/dev/add-ins/develop/register-sso-add-in-aad-v2: the Application ID URI is
        # api://<fully-qualified domain name of the add-in[:port]>/<app id>
        parts = urlsplit(resource)
        if parts.scheme != "api" or parts.hostname not in pane_hosts:
            problems.append(
                f"{_at(info)} <Resource> {resource!r} must be api://<the add-in's host>/<Id>"
            )
        elif not resource.endswith(f"/{client_id}"):
            problems.append(f"{_at(info)} <Resource> {resource!r} must end with /<Id>")
        if not [s for s in _elements(info, "Scope") if (s.text or "").strip()]:
            problems.append(f"{_at(info)} <Scopes> lists no <Scope>")
    return problems


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m addin.manifest", description="Check an Outlook add-in manifest offline."
    )
    parser.add_argument("--dev", action="store_true", help="allow http on 127.0.0.1/localhost")
    parser.add_argument("file", type=Path, help="the manifest XML file")
    args = parser.parse_args(argv)
    problems = validate(args.file.read_bytes(), dev=args.dev)
    for problem in problems:
        print(f"{args.file}: {problem}")
    if not problems:
        print(f"{args.file}: valid", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
