"""Addresses, names, domains and Exchange display headers as real mail writes them."""

from __future__ import annotations

import pytest

from sync.items import Address, AddressKind
from sync.normalize.addresses import (
    normalize_email,
    normalize_name,
    parse_addresses,
    parse_positions,
    wrapped_dn,
    x500_dn,
)
from sync.normalize.aliases import is_owner_alias
from sync.normalize.display import parse_display_header, reconcile
from sync.normalize.domains import (
    FirmDomains,
    company_name,
    is_free_mail,
    is_mailing_name,
    is_organisation_sender,
    is_role_address,
    registrable_domain,
)
from sync.normalize.text import identifier, storable


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Phillip.Allen@ENRON.com", "phillip.allen@enron.com"),
        ("<k..allen@enron.com>", "k..allen@enron.com"),  # Enron's real double-dot addresses
        ("mailto:Jane@Acme.co.uk", "jane@acme.co.uk"),
        ("zoë@bücher.de", "zoë@xn--bcher-kva.de"),
        ("  'a@b.com' ", "a@b.com"),
        (".joanna@enron.com", None),  # Enron's garbled recipients
        ("no-at-sign", None),
        ("a@b@c.com", None),
        ("a@-bad-.com", None),
        ("a b@c.com", None),
        ("", None),
        ("x@" + "a" * 400 + ".com", None),
        ("jane\x00@acme.co.uk", None),  # neither database stores a NUL
        ("ja\ud800ne@acme.co.uk", None),  # nor an unpaired surrogate
        ("ja\x1bne@acme.co.uk", None),
    ],
)
def test_normalize_email(raw: str, expected: str | None) -> None:
    assert normalize_email(raw) == expected


def test_x500_names_are_upper_case_and_only_x500() -> None:
    assert (
        x500_dn("</O=ENRON/OU=NA/CN=RECIPIENTS/CN=Pallen>")
        == "/O=ENRON/OU=NA/CN=RECIPIENTS/CN=PALLEN"
    )
    assert x500_dn("pallen@enron.com") is None
    assert x500_dn("/O=ENRON/CN=P\x00ALLEN") is None


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        # Enron's gateway form, in a plain To header and with the stray quote the corpus has
        (
            "/o=enron/ou=na/cn=recipients/cn=jcasas@enron.com",
            "/O=ENRON/OU=NA/CN=RECIPIENTS/CN=JCASAS",
        ),
        (
            "'/o=enron/ou=na/cn=recipients/cn=mfrank4'@enron.com",
            "/O=ENRON/OU=NA/CN=RECIPIENTS/CN=MFRANK4",
        ),
        (
            "</O=ENRON/OU=NA/CN=RECIPIENTS/CN=NOTESADDR/CN=A3A4CB81-65DB1A4F@ENRON.COM>",
            "/O=ENRON/OU=NA/CN=RECIPIENTS/CN=NOTESADDR/CN=A3A4CB81-65DB1A4F",
        ),
        # Exchange's IMCEAEX encapsulation: _ for /, +XX for any other character (+5F is _)
        (
            "IMCEAEX-_O=ENRON_OU=NA_CN=RECIPIENTS_CN=JCASAS@enron.com",
            "/O=ENRON/OU=NA/CN=RECIPIENTS/CN=JCASAS",
        ),
        (
            "IMCEAEX-_o=ExchangeLabs_ou=Exchange+20Administrative+20Group+20+28FYDIBOHF23SPDLT+29"
            "_cn=Recipients_cn=5f1e+5Fab-jdoe@namprd04.prod.outlook.com",
            "/O=EXCHANGELABS/OU=EXCHANGE ADMINISTRATIVE GROUP (FYDIBOHF23SPDLT)"
            "/CN=RECIPIENTS/CN=5F1E_AB-JDOE",
        ),
        ("imceaex-jdoe@acme.com", None),  # no DN inside: an ordinary (odd) SMTP address
        ("IMCEAEX-_O=ENRON_CN=+00PALLEN@enron.com", None),  # a NUL stays refused
    ],
)
def test_a_dn_wrapped_in_an_smtp_address(raw: str, expected: str | None) -> None:
    """Parsed as the address it is (whose DN it names depends on its domain: ``sync.rules``),
    with the DN and the domain it wraps."""
    assert x500_dn(raw) is None
    wrapped, jane = parse_addresses(f"{raw}, jane@acme.com")
    assert jane == Address("jane@acme.com") and wrapped.kind == AddressKind.SMTP
    domain = wrapped.email.rsplit("@", 1)[1]
    assert wrapped_dn(wrapped.email) == (None if expected is None else (expected, domain))


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Allen, Phillip K.", "Phillip K. Allen"),
        ('"Roe, Jane"', "Jane Roe"),
        ("Miller, Don (Asset Mktg)", "Don Miller"),
        ("=?utf-8?q?Zo=C3=AB_M=C3=BCller?=", "Zoë Müller"),
        ("=?UTF-8?B?Tmd1eeG7hW4gVsSDbiBBbg==?=", "Nguyễn Văn An"),
        ("jane@acme.co.uk", ""),  # a name that is only an address is no name
        ("  Jane   Roe ", "Jane Roe"),
        ("Smith Jones, Ann", "Smith Jones, Ann"),  # not a lone surname: left alone
        ("=?bogus-charset?q?x?=", "=?bogus-charset?q?x?="),
        ("<img src=x onerror=alert(1)>", "<img src=x onerror=alert(1)>"),  # kept as text
        ("Jane\x00 Roe\x07", "Jane Roe"),
        ("Jane\ud800Roe", "Jane\ufffdRoe"),
        ("=?utf-7?q?Jane+2AA-?=", "Jane\ufffd"),  # UTF-7 decodes to an unpaired surrogate
        # Enron's display headers: quoted-pairs, Outlook's contact-card tags, commas in a
        # parenthesis
        ("David Chandler \\(E-mail\\)", "David Chandler"),
        ("Amanda Day (E-mail 2)", "Amanda Day"),
        ("Diane Kean \\(E-mail 2\\)", "Diane Kean"),
        ("Denise Hicks (Sparks) (Business Fax)", "Denise Hicks (Sparks)"),
        ("Anderson, Douglas C \\(CAP, SFG\\)", "Douglas C Anderson"),
        ("KNEBEL,ROBERT (HP-Vancouver,ex1)", "ROBERT KNEBEL"),
        ('William \\"Bill\\" Bojorquez', 'William "Bill" Bojorquez'),
        ("Tony Policastro \\(Elite Brokers\\)", "Tony Policastro (Elite Brokers)"),
        ("ENRON\\jdoe", "ENRON\\jdoe"),  # a backslash before a letter is no quoted-pair
        ("Mail (E-mail)", "Mail"),
        ("Germany Jr, Don (WD)", "Don Germany Jr"),
        ("Kilmer III, Robert", "Robert Kilmer III"),
        ("Mc Whirter, Daniel D.", "Daniel D. Mc Whirter"),
        ("Continental Airlines, Inc.", "Continental Airlines, Inc."),
        ("Gilbert R. Whitaker, Jr.", "Gilbert R. Whitaker, Jr."),
        ("Robert W. Huntley, CFP", "Robert W. Huntley, CFP"),
        ("(E-mail)", ""),  # nothing but the tag: no name
        # address books' prefixes, directory tags, stray quotes and colons (Enron)
        ("Hollis, Amanda [UBS]", "Amanda Hollis"),
        ("Flood, Scott L [GCO]", "Scott L Flood"),
        ("ENE:Watson, Kim", "Kim Watson"),
        ("'NOTES:\"Amr Ibrahim'", "Amr Ibrahim"),
        ('Bojorquez, William \\"Bill\\"', 'William "Bill" Bojorquez'),
        ('"Funk, Randall:"', "Randall Funk"),
        ("O'Brien, Pat", "Pat O'Brien"),
        ("'Thorse, Greg", "Greg Thorse"),  # Exchange lost the closing quote
        ("Mail: Natural Resources", "Mail: Natural Resources"),  # no address book's prefix
        ("[UBS]", "[UBS]"),  # nothing but the tag: kept rather than lose the name
    ],
)
def test_normalize_name(raw: str, expected: str) -> None:
    assert normalize_name(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Terms of the deal", "Terms of the deal"),
        ("Zoë Müller \u202eevil\u202c", "Zoë Müller \u202eevil\u202c"),  # odd but storable
        ("a\x00b\x1bc\x7fd", "abc\x7fd"),  # C0 controls go; DEL is storable
        ("line\r\nbreak\ttab", "line\r\nbreak\ttab"),  # callers fold these into spaces
        ("\ud83d\ude00 \ud800", "\ufffd\ufffd \ufffd"),  # no surrogate survives
    ],
)
def test_storable_text(raw: str, expected: str) -> None:
    assert storable(raw) == expected


def test_identifiers_fit_their_column_and_keep_long_ones_apart() -> None:
    long = "x" * 100_000
    assert identifier("  abc@\x00host\t x ", 255) == "abc@host x"
    assert identifier(" \x00 ", 255) is None and identifier(None, 255) is None
    digest = identifier(long + "1", 255)
    assert digest is not None and digest.startswith("sha256:") and len(digest) == 71
    assert identifier(long + "1", 255) == digest  # the same id gives the same key
    assert identifier(long + "2", 255) != digest  # a shared prefix does not merge two ids
    assert identifier("y" * 255, 255) == "y" * 255


def test_parse_addresses_handles_quoted_encoded_and_duplicate_entries() -> None:
    value = (
        '"Allen, Phillip K." <K..Allen@enron.com>, =?utf-8?q?Zo=C3=AB?= <zoe@bücher.de>, '
        "e-mail <.joanna@enron.com>, k..allen@enron.com"
    )
    assert parse_addresses(value) == [
        Address("k..allen@enron.com", "Phillip K. Allen"),
        Address("zoe@xn--bcher-kva.de", "Zoë"),
    ]
    assert parse_positions("a@b.com, bad, c@d.com") == [
        Address("a@b.com"),
        None,
        Address("c@d.com"),
    ]


def test_registrable_domains_with_multi_part_suffixes() -> None:
    assert registrable_domain("mail.acme.co.uk") == "acme.co.uk"
    assert registrable_domain("hcm.vinacapital.com.vn") == "vinacapital.com.vn"
    assert registrable_domain("a.b.example.com.au") == "example.com.au"
    assert registrable_domain("localhost") == "localhost"
    assert company_name("acme-steel.co.uk") == "Acme Steel"
    assert company_name("xn--bcher-kva.de") == "Bücher"


def test_free_mail_and_role_addresses() -> None:
    assert (
        is_free_mail("gmail.com") and is_free_mail("hotmail.co.uk") and is_free_mail("swbell.net")
    )
    assert not is_free_mail("acme.co.uk")
    # Consumer ISPs of HubSpot's list, under a regional host too (the Enron corpus: 124 people
    # at *.rr.com had made a company "Rr"), and the ones only our own list holds.
    for isp in ("houston.rr.com", "mindspring.com", "cs.com", "worldnet.att.net", "hey.com"):
        assert is_free_mail(isp), isp
    for company in ("williams.com", "pge.com", "unm.edu", "nyiso.com"):
        assert not is_free_mail(company), company
    for role in ("noreply@x.com", "MAILER-DAEMON@x.com", "owner-list@x.com", "list-request@x.com"):
        assert is_role_address(role)
    assert not is_role_address("jane.roe@x.com")
    # Enron: compound local parts of machines and mailings (Concur's expense notices wrote
    # to 20 colleagues); a word inside a longer one, or a team a client writes from, stays.
    for role in (
        "enron_update@concureworkplace.com",
        "exclusive_offers@sportsline.com",
        "partner-news@amazon.com",
        "mailer@list.nyrrc.org",
        "technologydaily-alert@nationaljournal.com",
    ):
        assert is_role_address(role), role
    for person in (
        "newsome@x.com",
        "updated.jones@x.com",
        "kate.listerman@x.com",
        "tco_commercial_services@nisource.com",
        "ann.sales@x.com",
    ):
        assert not is_role_address(person), person
    # Enron: mailings sent from a subdomain named for them (53 senders, 76 messages; Forbes
    # gave each message an address of its own at news.forbesdigital.com)
    for role in (
        "joc_online@news.joc.com",
        "savebig@reply.pm0.net",
        "travel@offers.priceline.com",
        "424372.167547968.1@news.forbesdigital.com",
        "theweatherchannel@alerts.weather.com",
    ):
        assert is_role_address(role), role
    # Numbered per-message addresses; one number alone may be a person's (a pager, QQ Mail)
    assert is_role_address("461052.129113116.2@1.americanexpress.com")
    assert not is_role_address("7139069876@skytel.com") and not is_role_address("12345@qq.com")
    for person in ("jane@news.co.uk", "john@newsweek.com", "ann@mail.acme.com", "bob@alerts"):
        assert not is_role_address(person), person  # the word is no subdomain: a suffix, a name


@pytest.mark.parametrize(
    ("name", "email", "organisation"),
    [
        # Enron: 32 senders, 77 messages, every one a company's mailing or notice
        ("Continental Airlines, Inc.", "continental_airlines_inc@coair.rsc01.com", True),
        ("Amazon.com", "gift@amazon.com", True),
        ("1-800-FLOWERS.COM", "1800flowers.224433405@s2u2.com", True),
        ("Dell Computer Corp.", "lb_electronic_orders@dell.com", True),
        ("Inside NYTimes.com", "insidenytimes@nytimes.com", True),
        # a person whose display name is a domain not in their address
        ("enron.com", "mcuilla@houston.rr.com", False),
        ("dynegy.com", "hope-frelix@reliantenergy.com", False),
        ("Jane Roe", "jane@acme.com", False),
        ("Tony Co", "tony@co.example", False),  # Co is also a surname
        ("Acme Inc", "jane@othercorp.com", False),  # a company's name, another's address
        ("", "gift@amazon.com", False),
    ],
)
def test_organisation_senders(name: str, email: str, organisation: bool) -> None:
    assert is_organisation_sender(name, email) is organisation


@pytest.mark.parametrize(
    ("name", "mailing"),
    [
        # Enron: 17 senders, every one a mailing
        ("SCIENTECH IssueAlert", True),
        ("Expedia Travel Deals", True),
        ("WSS Newsletter", True),
        ("MSN Money Update", True),
        ("iRewards Special Offers", True),
        # people: no such word, or a word that is also a surname
        ("Mike Newsome", False),
        ("Anne List", False),
        ("Norman Mailer", False),
        ("Jane Roe", False),
        ("", False),
    ],
)
def test_mailing_names(name: str, mailing: bool) -> None:
    assert is_mailing_name(name) is mailing


def test_firm_domains_include_subdomains_only() -> None:
    firm = FirmDomains(["Enron.com", " harbourlaw.example "])
    assert firm.is_internal("enron.com") and firm.is_internal("ect.enron.com")
    assert not firm.is_internal("notenron.com") and not firm.is_internal("enron.com.evil.net")


def test_display_header_entries_from_enron() -> None:
    entries = parse_display_header(
        "Allen, Phillip K. </O=ENRON/OU=NA/CN=RECIPIENTS/CN=Pallen>, melick@texas1031.com, "
        "Tim Belden <Tim Belden/HOU/ECT@ECT>, James Wills <jwills3@swbell.net>@ENRON"
    )
    assert [e.name for e in entries] == ["Phillip K. Allen", "", "Tim Belden", "James Wills"]
    assert [e.address.email if e.address else None for e in entries] == [
        "/O=ENRON/OU=NA/CN=RECIPIENTS/CN=PALLEN",
        "melick@texas1031.com",
        None,
        "jwills3@swbell.net",
    ]


def test_a_comma_in_a_parenthesis_does_not_split_a_display_entry() -> None:
    """Enron (Jeff Dasovich's Inbox): one entry of X-To was split at the comma of
    ``\\(CAP, SFG\\)``, so the list no longer paired with To and every name of it was lost."""
    entries = parse_display_header(
        "Rovito, Andy <Arovito@INTERGEN.com>, Anderson, Douglas C \\(CAP, SFG\\)"
        " <Douglas.Anderson@gecapital.com>, Rogers, Benjamin </O=ENRON/OU=NA/CN=RECIPIENTS/CN=BR>"
        ", Smith (unclosed, c@d.com"
    )
    assert [e.name for e in entries] == [
        "Andy Rovito",
        "Douglas C Anderson",
        "Benjamin Rogers",
        "Smith (unclosed",
        "",
    ]


def test_reconcile_recovers_garbled_recipients_and_links_x500() -> None:
    header = parse_positions("k..allen@enron.com, e-mail <.joanna@enron.com>")
    display = parse_display_header(
        "Allen, Phillip K. </O=ENRON/OU=NA/CN=RECIPIENTS/CN=PALLEN>, <joanna_williams@hotmail.com>"
    )
    result = reconcile(header, display)
    assert result.addresses == (
        Address("k..allen@enron.com", "Phillip K. Allen"),
        Address("joanna_williams@hotmail.com"),
    )
    assert result.links == (("/O=ENRON/OU=NA/CN=RECIPIENTS/CN=PALLEN", "k..allen@enron.com"),)


def test_reconcile_with_different_lengths_only_adds_missing_addresses() -> None:
    header = parse_positions("a@enron.com, b@enron.com")
    display = parse_display_header("A <a@enron.com>, client@acme.com, B, C")
    result = reconcile(header, display)
    assert [a.email for a in result.addresses] == ["a@enron.com", "b@enron.com", "client@acme.com"]
    assert result.links == ()
    assert all(a.kind == AddressKind.SMTP for a in result.addresses)


def test_reconcile_drops_the_pieces_of_names_split_at_their_comma() -> None:
    """Wolfe's Inbox, 2 October 2001: the conversion split "Lindner, Fred <...>" into
    lindner@enron.com and fred.lindner@enform.com. The pieces go, the lists pair again and
    the names come back; a one-word address that Exchange shows, or that the next name
    does not hold, stays."""
    header = parse_positions(
        "lindner@enron.com, fred.lindner@enform.com, cherry@enron.com,"
        " michael.cherry@enform.com, dunn@enron.com, john.dunn@enform.com, jwilkerson@reliant.com"
    )
    display = parse_display_header(
        "Lindner, Fred <Fred.Lindner@enform.com>, Cherry, Michael <Michael.Cherry@enform.com>,"
        " Dunn, John <John.Dunn@enform.com>, Jondaworky (JWilkerson@reliant.com)"
    )
    assert reconcile(header, display).addresses == (
        Address("fred.lindner@enform.com", "Fred Lindner"),
        Address("michael.cherry@enform.com", "Michael Cherry"),
        Address("john.dunn@enform.com", "John Dunn"),
        Address("jwilkerson@reliant.com"),
    )
    kept = parse_positions("dunn@enron.com, john.dunn@enform.com, ward@enron.com, a.b@x.com")
    shown = parse_display_header("Dunn <dunn@enron.com>, Dunn, John <John.Dunn@enform.com>, A B")
    emails = [a.email for a in reconcile(kept, shown).addresses]
    assert emails == ["dunn@enron.com", "john.dunn@enform.com", "ward@enron.com", "a.b@x.com"]


@pytest.mark.parametrize(
    ("owner", "candidate", "expected"),
    [
        ("phillip.allen@enron.com", Address("k..allen@enron.com"), True),
        ("phillip.allen@enron.com", Address("pallen@ect.enron.com", "Phillip K Allen"), True),
        ("david.delainey@enron.com", Address("kay.chapman@enron.com", "Kay Chapman"), False),
        ("steven.kean@enron.com", Address("maureen.mcvicker@enron.com"), False),
        ("larry.campbell@enron.com", Address("rjbaker@ttu.edu"), False),
        (
            "kim.ward@enron.com",
            Address("/O=ENRON/OU=NA/CN=RECIPIENTS/CN=KWARD", "", AddressKind.X500),
            True,
        ),
        (
            "jason.williams@enron.com",
            Address("/O=ENRON/OU=NA/CN=RECIPIENTS/CN=JWILLIA", "Jason Williams", AddressKind.X500),
            True,
        ),
        ("zoe.muller@harbourlaw.example", Address("zm@harbourlaw.example", "Zoë Müller"), True),
    ],
)
def test_sent_folder_senders_are_aliases_only_with_the_owners_family_name(
    owner: str, candidate: Address, expected: bool
) -> None:
    # Delegates send from a partner's mailbox (Kay Chapman for David Delainey in Enron).
    assert is_owner_alias(candidate, owner) is expected
