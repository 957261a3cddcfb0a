"""Name pools for the demo firm: colleagues, people by culture, companies by country.

Everything here is data; ``demo.population`` draws from it with the seeded generator. Phone
numbers use ranges reserved for fiction where a country has one (Ofcom's 020 7946 0xxx, the US
555-01xx, Australia's 02 5550 xxxx).
"""

from __future__ import annotations

from dataclasses import dataclass


def words(text: str) -> list[str]:
    return text.split()


DOMAIN = "harbourlaw.example"
FIRM_NAME = "Harbour Law LLP"
FIRM_PHONE = "+44 20 7946 0{:03d}"

# (name, title), in an order whose every prefix mixes partners, associates and support staff:
# a small scale takes the first few. The first partner is the demo's admin.
COLLEAGUES = [
    ("Eleanor Whitfield", "Managing Partner"),
    ("Daniel Okafor", "Senior Associate"),
    ("Trần Thị Mai", "Partner"),
    ("Priya Raman", "Associate"),
    ("Sophie Laurent", "Paralegal"),
    ("Marcus Hale", "Partner"),
    ("Oliver Grant", "Associate"),
    ("Hannah Brooks", "Senior Associate"),
    ("Thomas Reid", "Partner"),
    ("Chloe Adams", "Associate"),
    ("William Clarke", "Partner"),
    ("Amelia Foster", "Associate"),
    ("Rajiv Menon", "Senior Associate"),
    ("Grace Sutherland", "Partner"),
    ("Benjamin Moore", "Associate"),
    ("Isabella Rossi", "Associate"),
    ("Samuel Wright", "Partner"),
    ("Lucy Chambers", "Trainee Solicitor"),
    ("Henry Walsh", "Senior Associate"),
    ("Emily Nakamura", "Associate"),
    ("Charlotte Evans", "Partner"),
    ("Jack Thompson", "Associate"),
    ("Ava Kaur", "Associate"),
    ("Nathan Pierce", "Senior Associate"),
    ("Rebecca Lowe", "Paralegal"),
    ("Lê Minh Quân", "Associate"),
    ("Matthew Doyle", "Partner"),
    ("Zara Hussain", "Associate"),
    ("George O'Brien", "Counsel"),
    ("Fiona MacLeod", "Practice Manager"),
]

EN_FIRST = words(
    "Olivia Amelia Isla Ava Mia Grace Sophie Emily Lily Ella Chloe Ruby Charlotte Lucy Evie Alice "
    "Sarah Laura Rachel Emma Kate Helen Claire Fiona Joanna Megan Natalie Victoria Jessica Hannah "
    "Oliver George Harry Jack Noah Charlie Jacob Thomas Oscar William James Henry Leo Alfie Edward "
    "Daniel Samuel Joseph David Michael Andrew Richard Peter Mark Paul Simon Christopher Robert "
    "Stephen Matthew Benjamin Nicholas Anthony Jonathan Patrick Liam Ethan Lucas Ryan Adam"
)
EN_LAST = words(
    "Smith Jones Williams Taylor Brown Davies Evans Wilson Thomas Johnson Roberts Robinson "
    "Thompson Wright Walker White Edwards Hughes Green Hall Lewis Harris Clarke Patel Jackson "
    "Wood Turner "
    "Martin Cooper Hill Ward Morris Moore Clark Lee King Baker Harrison Morgan Allen James Scott "
    "Phillips Watson Davis Parker Price Bennett Young Griffiths Mitchell Kelly Cook Carter "
    "Richardson Bailey Collins Bell Shaw Murphy Miller Cox Richards Khan Marshall Anderson "
    "Simpson Ellis Adams "
    "Singh Begum Wilkinson Foster Chapman Powell Webb Rogers Gray Mason Ali Hunt Hussain Campbell "
    "Matthews Owen Palmer Holmes Mills Barnes Knight Lloyd Butler Russell Barker Fisher Stevens "
    "Jenkins Murray Dixon Harvey O'Neill MacDonald Fitzgerald Kowalski Novak Silva Fernandes"
)
VI_FAMILY = words("Nguyễn Trần Lê Phạm Hoàng Huỳnh Phan Vũ Võ Đặng Bùi Đỗ Hồ Ngô Dương Lý")
VI_MIDDLE = words("Văn Thị Minh Thanh Ngọc Quốc Hữu Đức Thu Hoài Anh Gia")
VI_GIVEN = words(
    "An Bình Cường Dũng Hà Hải Hạnh Hương Khánh Lan Linh Long Mai Nam Phong Phương Quang Sơn Thảo "
    "Trang Tuấn Vy Hiếu Hùng Huy Tâm Thắng Trung Yến Nhung Giang"
)
DE_FIRST = words(
    "Zoë Jürgen Jörg Lukas Anna Katrin Matthias Sören Björn Stefan Sabine Ulrike Felix Lena "
    "Maximilian Sophie Tobias Julia Andreas Birgit Dominik Franziska Henrik Jana Moritz Günter"
)
DE_LAST = words(
    "Müller Schäfer Weiß Groß Köhler Hoffmann Schmidt Becker Wagner Krüger Böhm Fischer Neumann "
    "Schröder Zimmermann Braun Hartmann Lange Schulz Vogel Fuchs Jäger Günther Möller"
)
# (native script, given name, family name in Latin letters).
ZH_NAMES = [
    ("王伟", "Wei", "Wang"),
    ("李娜", "Na", "Li"),
    ("张敏", "Min", "Zhang"),
    ("刘洋", "Yang", "Liu"),
    ("陈静", "Jing", "Chen"),
    ("杨帆", "Fan", "Yang"),
    ("黄磊", "Lei", "Huang"),
    ("赵丽", "Li", "Zhao"),
    ("周杰", "Jie", "Zhou"),
    ("吴芳", "Fang", "Wu"),
    ("林志强", "Zhiqiang", "Lin"),
    ("郭美玲", "Meiling", "Guo"),
    ("何俊杰", "Junjie", "He"),
    ("谢婉婷", "Wanting", "Xie"),
]
TH_NAMES = [
    ("สมชาย ใจดี", "Somchai", "Jaidee"),
    ("สุดารัตน์ ศรีสุข", "Sudarat", "Srisuk"),
    ("ประยุทธ์ วงศ์ทอง", "Prayut", "Wongthong"),
    ("นภา แก้วมณี", "Napa", "Kaewmanee"),
    ("อนันต์ สุวรรณ", "Anan", "Suwan"),
    ("กาญจนา ทองดี", "Kanchana", "Thongdee"),
    ("วิชัย บุญมา", "Wichai", "Boonma"),
    ("พรทิพย์ ชัยวัฒน์", "Pornthip", "Chaiwat"),
]
FA_NAMES = [
    ("علی رضایی", "Ali", "Rezaei"),
    ("مریم احمدی", "Maryam", "Ahmadi"),
    ("رضا حسینی", "Reza", "Hosseini"),
    ("سارا کریمی", "Sara", "Karimi"),
    ("محمد محمدی", "Mohammad", "Mohammadi"),
    ("نگار جعفری", "Negar", "Jafari"),
    ("امیر موسوی", "Amir", "Mousavi"),
    ("لیلا رحیمی", "Leila", "Rahimi"),
]


@dataclass(frozen=True, slots=True)
class Country:
    suffix: str  # the company domain's public suffix
    utc_offset: int  # hours; standard time all year (the demo needs no DST)
    cultures: tuple[tuple[str, float], ...]  # name culture -> weight
    legal_forms: tuple[str, ...]
    phone: str  # a format with one integer field
    weight: float  # share of companies


COUNTRIES = [
    Country(
        ".com",
        -5,
        (("en", 0.6), ("zh", 0.2), ("fa", 0.2)),
        ("Inc.", "LLC", "Corp."),
        "+1 212 555 01{:02d}",
        30,
    ),
    Country(
        ".co.uk", 0, (("en", 0.85), ("fa", 0.15)), ("Ltd", "plc", "LLP"), "+44 20 7946 0{:03d}", 22
    ),
    Country(".com.vn", 7, (("vi", 1.0),), ("JSC", "Co., Ltd"), "+84 28 3822 {:04d}", 14),
    Country(".de", 1, (("de", 1.0),), ("GmbH", "AG"), "+49 30 2045 {:04d}", 12),
    Country(
        ".com.au", 10, (("en", 0.8), ("zh", 0.2)), ("Pty Ltd", "Limited"), "+61 2 5550 {:04d}", 12
    ),
    Country(".com.sg", 8, (("zh", 0.7), ("en", 0.3)), ("Pte. Ltd.",), "+65 6221 {:04d}", 6),
    Country(".co.th", 7, (("th", 1.0),), ("Co., Ltd.", "PCL"), "+66 2 254 {:04d}", 4),
]

COMPANY_WORDS = {
    ".com": "Northstar Bluewater Kestrel Granite Oakridge Silverline Redgate Meridian Pinnacle "
    "Beacon Crestview Summit Atlas Falcon Horizon Juniper Lighthouse Cobalt Evergreen Liberty",
    ".co.uk": "Harbourside Ashford Fairhaven Highland Ironbridge Lakeside Moorgate Riverside "
    "Thornbury Westbrook Whitecliff Sterling Kingsway Albion Pennine Solent Cotswold Thameside",
    ".com.vn": "Mekong Saigon Hanoi Danang HongHa PhuMy ThanhCong VietTien HoaBinh AnPhat "
    "SongHan TruongSon",
    ".de": "Rhein Alster Bayern Nordsee Schwarzwald Elbe Spree Hansa Isar Main Weser Harz",
    ".com.au": "CoralCoast Southern Wattle Outback Tasman Kookaburra Murray Pacific Banksia "
    "Eucalypt Sandstone Redgum",
    ".com.sg": "LionCity Marina Orchard Jade Straits Pearl Lotus Raffles Sentosa Merlion",
    ".co.th": "Siam ChaoPhraya Lanna Andaman Krung Ayutthaya Mekhala Chiang",
}
SECTORS = words(
    "Shipping Logistics Capital Holdings Energy Mining Foods Pharma Engineering Properties "
    "Insurance Telecom Retail Ventures Construction Aviation Healthcare Software Textiles "
    "Chemicals Agritech Semiconductors Hospitality Media"
)
DE_SECTORS = words("Maschinenbau Logistik Chemie Energie Versicherung Handel Technik Bau Pharma")

TITLES = [
    ("General Counsel", 6),
    ("Head of Legal", 5),
    ("Legal Counsel", 8),
    ("Senior Legal Counsel", 4),
    ("Chief Financial Officer", 3),
    ("Finance Director", 4),
    ("Company Secretary", 3),
    ("Managing Director", 3),
    ("Chief Executive Officer", 2),
    ("Procurement Manager", 4),
    ("HR Director", 3),
    ("Operations Director", 3),
    ("Contracts Manager", 5),
    ("Commercial Manager", 4),
    ("Tax Manager", 2),
    ("Project Manager", 4),
]

MATTERS = [
    "Share purchase agreement",
    "Supply agreement renewal",
    "NDA for Project {code}",
    "Employment dispute",
    "Lease of {city} premises",
    "Board minutes",
    "Shareholder agreement",
    "Data processing addendum",
    "Trademark filing",
    "Loan facility",
    "Due diligence request list",
    "Engagement letter",
    "Invoice query",
    "Joint venture term sheet",
    "Regulatory filing",
    "Distribution agreement",
    "Settlement proposal",
    "IP licence",
    "Charter party dispute",
    "Restructuring steps plan",
]
CODES = words("Falcon Lighthouse Orion Atlas Kestrel Sapphire Meridian Aurora Phoenix Cedar")
CITIES = words("London Hanoi Munich Sydney Singapore Bangkok Manchester Hamburg Melbourne")
INTERNAL_SUBJECTS = [
    "Staffing for {code}",
    "Draft for your review",
    "Time entries this week",
    "Know-how session",
    "Client lunch next week?",
    "Billing for {code}",
    "Conflict check",
    "Precedent search",
    "Team drinks on Friday",
    "Pitch for {code}",
]
