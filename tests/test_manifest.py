"""The Outlook add-in manifest: rendered from configuration, served without a token, and checked
offline by ``addin.manifest.validate``, which must reject each one-mutation variant below."""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from flask import Flask
from lxml import etree  # type: ignore[import-untyped]

import addin.web
from addin.manifest import ManifestSettings, main, render, settings_from_config, validate
from config import ConfigError

CLIENT_ID = "0b5c1f3e-8d2a-4c7b-9e61-3f4a5b6c7d8e"
PUBLIC = "https://rapport.harbourlaw.example"
NS = {
    "o": "http://schemas.microsoft.com/office/appforoffice/1.1",
    "v": "http://schemas.microsoft.com/office/mailappversionoverrides/1.1",
    "bt": "http://schemas.microsoft.com/office/officeappbasictypes/1.0",
}
XSI_TYPE = "{http://www.w3.org/2001/XMLSchema-instance}type"
PRODUCTION = {
    "RAPPORT_ENV": "production",
    "RAPPORT_PUBLIC_URL": PUBLIC,
    "RAPPORT_CLIENT_ID": CLIENT_ID,
}


@pytest.fixture
def make_app(app_config: dict[str, str]) -> Iterator[Callable[..., Flask]]:
    """Builds the real app with extra configuration, the add-in blueprint registered."""
    from app import create_app

    made: list[Flask] = []

    def make(**overrides: str) -> Flask:
        application = create_app({**app_config, **overrides})
        application.testing = True
        made.append(application)
        if "addin" not in application.blueprints:
            addin.web.init_app(application)
        return application

    yield make
    for application in made:
        application.extensions["rapport.db"].dispose()


def parse(xml: bytes) -> Any:
    return etree.fromstring(xml)


def one(root: Any, path: str) -> Any:
    (found,) = root.xpath(path, namespaces=NS)
    return found


def good() -> bytes:
    return render(settings_from_config(PRODUCTION))


# --- rendering and serving ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("config", "dev"),
    [({}, True), (PRODUCTION, False)],
    ids=["development defaults", "production"],
)
def test_rendered_manifest_passes_the_offline_check(config: dict[str, str], dev: bool) -> None:
    settings = settings_from_config(config)
    assert settings.dev is dev
    assert validate(render(settings), dev=dev) == []


def test_manifest_asks_least_privilege_and_pins_the_read_pane() -> None:
    root = parse(good())
    assert one(root, "o:Permissions").text == "ReadItem"
    surfaces = {e.get(XSI_TYPE): e for e in root.xpath("//v:ExtensionPoint", namespaces=NS)}
    assert set(surfaces) == {"MessageReadCommandSurface", "MessageComposeCommandSurface"}
    assert one(surfaces["MessageReadCommandSurface"], ".//v:SupportsPinning").text == "true"
    url = one(root, "//bt:Url[@id='Taskpane.Url']").get("DefaultValue")
    assert url == f"{PUBLIC}/addin/taskpane.html"
    scopes = [s.text for s in root.xpath("//v:WebApplicationInfo//v:Scope", namespaces=NS)]
    assert scopes == ["openid", "profile"]


def test_served_manifest_carries_the_configured_url_and_client_id_without_a_token(
    make_app: Callable[..., Flask],
) -> None:
    app = make_app(RAPPORT_PUBLIC_URL="http://localhost:8123/", RAPPORT_CLIENT_ID=CLIENT_ID)
    response = app.test_client().get("/addin/manifest.xml")  # no Authorization header
    assert response.status_code == 200
    assert response.mimetype == "application/xml"
    root = parse(response.data)
    assert one(root, "o:FormSettings/o:Form[1]//o:SourceLocation").get("DefaultValue") == (
        "http://localhost:8123/addin/taskpane.html"
    )
    assert one(root, "//v:WebApplicationInfo/v:Id").text == CLIENT_ID
    assert (
        one(root, "//v:WebApplicationInfo/v:Resource").text == f"api://localhost:8123/{CLIENT_ID}"
    )
    assert validate(response.data, dev=True) == []


def test_configured_app_id_uri_replaces_the_derived_one(make_app: Callable[..., Flask]) -> None:
    uri = f"api://localhost/{CLIENT_ID}"  # the derived one would carry the port
    app = make_app(
        RAPPORT_PUBLIC_URL="http://localhost:8123",
        RAPPORT_CLIENT_ID=CLIENT_ID,
        RAPPORT_APP_ID_URI=uri,
    )
    root = parse(app.test_client().get("/addin/manifest.xml").data)
    assert one(root, "//v:WebApplicationInfo/v:Resource").text == uri


def test_every_icon_in_the_manifest_is_served_as_a_png_of_its_size_without_cache_control(
    make_app: Callable[..., Flask],
) -> None:
    app = make_app()
    client = app.test_client()
    root = parse(client.get("/addin/manifest.xml").data)
    icons = [
        (e.get("DefaultValue"), int(e.get("id").split(".")[1]))
        for e in root.xpath("//bt:Images/bt:Image", namespaces=NS)
    ]
    icons += [(one(root, "o:IconUrl").get("DefaultValue"), 64)]
    icons += [(one(root, "o:HighResolutionIconUrl").get("DefaultValue"), 128)]
    for url, size in icons:
        with client.get(urlsplit(url).path) as response:
            assert response.status_code == 200, url
            assert response.mimetype == "image/png"
            # Office shows a generic icon when an image response carries Cache-Control.
            assert "Cache-Control" not in response.headers
            assert response.data[:8] == b"\x89PNG\r\n\x1a\n"
            assert struct.unpack(">II", response.data[16:24]) == (size, size)


# --- manifests the check must reject: each is the good one with one mutation ---------------------


def move_permissions_after_rule(root: Any) -> None:
    one(root, "o:Rule").addnext(one(root, "o:Permissions"))


def drop_provider_name(root: Any) -> None:
    root.remove(one(root, "o:ProviderName"))


def ask_for_admin(root: Any) -> None:
    one(root, "o:Permissions").text = "Admin"


def point_pane_at_missing_url(root: Any) -> None:
    one(root, "(//v:Action/v:SourceLocation)[1]").set("resid", "Nowhere.Url")


def point_icon_at_url(root: Any) -> None:
    one(root, "(//v:Icon/bt:Image)[1]").set("resid", "Taskpane.Url")


def point_label_at_long_string(root: Any) -> None:
    one(root, "(//v:Control/v:Label)[1]").set("resid", "ReadButton.Tooltip")


def serve_pane_over_http(root: Any) -> None:
    one(root, "//bt:Url[@id='Taskpane.Url']").set(
        "DefaultValue", "http://rapport.harbourlaw.example/addin/taskpane.html"
    )


def icon_from_elsewhere(root: Any) -> None:
    one(root, "//bt:Image[@id='Icon.16']").set("DefaultValue", "https://cdn.example/icon-16.png")


def name_the_id(root: Any) -> None:
    one(root, "o:Id").text = "rapport-outlook-addin"


def overlong_short_string(root: Any) -> None:
    one(root, "//bt:ShortStrings/bt:String[@id='Group.Label']").set("DefaultValue", "x" * 126)


def overlong_display_name(root: Any) -> None:
    one(root, "o:DisplayName").set("DefaultValue", "R" * 126)


def pinning_outside_1_1(root: Any) -> None:
    inner = one(root, "//v:VersionOverrides")
    inner.set(XSI_TYPE, "VersionOverridesV1_0")


def drop_sso(root: Any) -> None:
    info = one(root, "//v:WebApplicationInfo")
    info.getparent().remove(info)


def sso_for_another_host(root: Any) -> None:
    one(root, "//v:WebApplicationInfo/v:Resource").text = f"api://evil.example/{CLIENT_ID}"


def sso_for_another_app(root: Any) -> None:
    one(root, "//v:WebApplicationInfo/v:Id").text = "11111111-2222-3333-4444-555555555555"


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (move_permissions_after_rule, "<Permissions> must come before <Rule>"),
        (drop_provider_name, "lacks the required <ProviderName>"),
        (ask_for_admin, "<Permissions> is 'Admin'"),
        (point_pane_at_missing_url, 'resid="Nowhere.Url" names no resource'),
        (
            point_icon_at_url,
            'resid="Taskpane.Url" names a Urls entry; <Image> needs one from Images',
        ),
        (
            point_label_at_long_string,
            "names a LongStrings entry; <Label> needs one from ShortStrings",
        ),
        (serve_pane_over_http, "must be https"),
        (icon_from_elsewhere, "span several origins"),
        (name_the_id, "<Id> must be a hyphenated GUID"),
        (overlong_short_string, "is 126 characters; ShortStrings allow 1-125"),
        (overlong_display_name, "<DisplayName> text is 126 characters"),
        (pinning_outside_1_1, "<SupportsPinning> needs an enclosing VersionOverridesV1_1"),
        (drop_sso, "no <WebApplicationInfo>"),
        (sso_for_another_host, "must be api://<the add-in's host>"),
        (sso_for_another_app, "must end with /<Id>"),
    ],
    ids=lambda value: getattr(value, "__name__", ""),
)
def test_check_rejects_a_broken_manifest(mutate: Callable[[Any], None], expected: str) -> None:
    root = parse(good())
    mutate(root)
    problems = validate(etree.tostring(root, xml_declaration=True, encoding="UTF-8"), dev=False)
    assert any(expected in problem for problem in problems), problems


def test_http_is_allowed_on_loopback_in_development_only() -> None:
    local = render(settings_from_config({"RAPPORT_PUBLIC_URL": "http://127.0.0.1:5000"}))
    assert validate(local, dev=True) == []
    assert any("must be https" in problem for problem in validate(local, dev=False))
    remote = render(settings_from_config({"RAPPORT_PUBLIC_URL": "http://rapport.example"}))
    assert any("must be https" in problem for problem in validate(remote, dev=True))


def test_malformed_xml_and_other_add_in_types_are_rejected() -> None:
    assert validate(good()[:-20], dev=False)[0].startswith("not well-formed XML")
    task_pane = good().replace(b'xsi:type="MailApp"', b'xsi:type="TaskPaneApp"')
    assert validate(task_pane, dev=False) == [
        '<OfficeApp> must have xsi:type="MailApp" (an Outlook add-in)'
    ]


# --- hostile configuration -----------------------------------------------------------------------

HOSTILE = 'https://rapport.example/"><Permissions>ReadWriteMailbox</Permissions><x a="'


def test_markup_in_the_public_url_is_refused_with_a_clear_error(
    make_app: Callable[..., Flask],
) -> None:
    with pytest.raises(ConfigError, match="RAPPORT_PUBLIC_URL may hold only URL characters"):
        settings_from_config({"RAPPORT_PUBLIC_URL": HOSTILE})
    with pytest.raises(ConfigError, match="RAPPORT_PUBLIC_URL"):
        make_app(RAPPORT_PUBLIC_URL=HOSTILE)


def test_rendering_escapes_markup_even_when_settings_skip_the_config_check() -> None:
    settings = ManifestSettings(HOSTILE, CLIENT_ID, f"api://rapport.example/{CLIENT_ID}", dev=False)
    root = parse(render(settings))  # still well-formed: the quotes and brackets were escaped
    assert [p.text for p in root.xpath("//o:Permissions", namespaces=NS)] == ["ReadItem"]
    assert one(root, "o:IconUrl").get("DefaultValue") == f"{HOSTILE}/addin/static/icon-64.png"
    assert any("is not an absolute http(s) URL" in p for p in validate(render(settings), dev=False))


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"RAPPORT_CLIENT_ID": "rapport"}, "RAPPORT_CLIENT_ID must be an Entra application"),
        ({"RAPPORT_PUBLIC_URL": "ftp://rapport.example"}, "RAPPORT_PUBLIC_URL must look like"),
        ({"RAPPORT_APP_ID_URI": "https://rapport.example"}, "RAPPORT_APP_ID_URI must look like"),
    ],
)
def test_bad_settings_are_refused(config: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        settings_from_config(config)


def test_production_app_refuses_to_start_with_an_http_manifest(
    make_app: Callable[..., Flask],
) -> None:
    with pytest.raises(ConfigError, match="must be https"):
        make_app(
            RAPPORT_ENV="production",
            RAPPORT_DEV_AUTH="0",
            RAPPORT_PUBLIC_URL="http://127.0.0.1:5000",
        )


# --- command line -------------------------------------------------------------------------------


def test_command_line_prints_problems_and_exits_non_zero(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "manifest.xml"
    path.write_bytes(render(settings_from_config({})))
    assert main(["--dev", str(path)]) == 0
    assert capsys.readouterr().out == ""
    assert main([str(path)]) == 1
    out = capsys.readouterr().out
    assert out.startswith(f"{path}: line ")
    assert "must be https" in out
