"""Write the labelled indicator set: unrelated pages and pages that expose a child.

    uv run python benchmarks/indicators/make_pages.py      # writes pages/ and labels.json

Deterministic (seeded): the same files every run. Every page is a whole site page -
<head> with CSS and scripts, a site menu, a sidebar, a footer with the publisher's own
address, phone and e-mail - around a main text drawn from hand-written templates in
several languages. Unrelated pages hold what used to raise false findings: CSS colours
and postcode-shaped product codes, stock tickers, a menu of schools, a council's own
address, adults' names, ages and birth dates, schools in the news. Exposing pages are
posts, profiles, club lists and captions that name a child with a school, a town, a
birthday, a postcode or a phone number; ``labels.json`` gives the kinds each must raise.
"""

# ruff: noqa: E501 - the page templates are prose, kept one sentence to a line
from __future__ import annotations

import json
import random
from datetime import UTC, datetime
from html import escape
from pathlib import Path

HERE = Path(__file__).resolve().parent
SEED = 13
YEAR = datetime.now(UTC).year

CHILD_FIRST = ["Lily", "Jayden", "Maisie", "Oliver", "Amelia", "Kacper", "Zofia", "Aisha",
               "Yusuf", "Poppy", "Mason", "Ruby", "Leo", "Hana", "Tyler", "Evie", "Noah",
               "Sofia", "Riley", "Ava"]  # fmt: skip
CHILD_LAST = ["Hartley", "Nowak", "Khan", "Brennan", "Okafor", "Whitlock", "Garcia",
              "Pearson", "Kowalska", "Ahmed", "Doyle", "Fenwick"]  # fmt: skip
ADULTS = ["Sarah Jones", "Mark Brown", "Councillor Helen Price", "David Walsh", "Priya Patel",
          "Tomasz Wiśniewski", "María López", "Jean Dupont", "Imran Qureshi", "Grace Obi"]  # fmt: skip
TOWNS = ["Leeds", "Rotherham", "Wakefield", "Bradford", "Halifax", "Doncaster", "Barnsley",
         "Huddersfield", "Harrogate", "Stoke-on-Trent", "Newcastle upon Tyne", "Sheffield"]  # fmt: skip
SCHOOLS = ["Oakfield Primary School", "St Mary's Catholic High School", "Northfield Academy",
           "Moor Lane Junior School", "Greenhill Community College", "Holy Trinity CofE Primary School",
           "Westbrook Grammar School", "Ashdown Free School"]  # fmt: skip
STREETS = ["Acacia Avenue", "Mill Lane", "Park Road", "Church Street", "Beech Grove",
           "Station Road", "Orchard Close", "Victoria Terrace"]  # fmt: skip
POSTCODES = ["LS6 2AB", "S60 1QY", "WF1 3HT", "BD7 4LP", "HX1 5TE", "DN4 8QQ", "S70 2JW",
             "HD1 6RS", "HG2 9PA", "ST4 7NW", "NE6 1XY", "S11 8UU"]  # fmt: skip
ORG_ADDRESSES = [
    ("Leeds City Council", "Civic Hall, Calverley Street, Leeds LS1 1UR", "0113 222 4444",
     "customer.services@leeds.gov.uk"),
    ("Rotherham Metropolitan Borough Council", "Riverside House, Main Street, Rotherham S60 1AE",
     "01709 382121", "enquiries@rotherham.gov.uk"),
    ("Yorkshire Evening News Ltd", "No. 1 Leeds, 26 Whitehall Road, Leeds LS12 1BE",
     "0113 243 2701", "newsdesk@yen-news.co.uk"),
    ("Gazeta Polska UK", "238 King Street, London W6 0RF", "020 8741 1234", "redakcja@gazeta.co.uk"),
    ("Daily Urdu Times", "12 Green Street, London E7 8BX", "020 8470 5555", "editor@urdutimes.co.uk"),
    ("El Diario de Londres", "45 Old Kent Road, London SE1 4RA", "020 7403 0000", "hola@eldiario.co.uk"),
    ("Le Petit Journal UK", "9 Queensberry Place, London SW7 2DL", "020 7589 1234", "contact@lpj.co.uk"),
    ("Harrogate Stores plc", "Unit 4, Hornbeam Park, Harrogate HG2 8QT", "01423 500600", "sales@hgstores.co.uk"),
]  # fmt: skip
CODES = ["AB1 2CD", "AB12 3CD", "CR2 4DF", "TN1 2AA", "SW1 3AB", "M1 1AE", "EH1 2NG", "B33 8TH"]
TICKERS = ["LSE: BARC", "LSE: AB12 3CD", "FTSE 100 ▲0.4%", "BP. 1.2%", "LLOY 52.3p",
           "ABF.L ▼1.1%", "NYSE: IBM", "VOD.L 71.2p"]  # fmt: skip


def _date(rng: random.Random, year: int) -> str:
    day, month = rng.randint(1, 28), rng.randint(1, 12)
    months = ["January", "February", "March", "April", "May", "June", "July", "August",
              "September", "October", "November", "December"]  # fmt: skip
    return rng.choice(
        [f"{day} {months[month - 1]} {year}", f"{day:02d}/{month:02d}/{year}",
         f"{months[month - 1]} {day}, {year}", f"{year}-{month:02d}-{day:02d}"]
    )  # fmt: skip


def _chrome(rng: random.Random, title: str, main: str, lang: str = "en", meta: str = "") -> str:
    """A whole site page: head, CSS, script, menu, sidebar, footer around ``main``."""
    org, address, phone, email = rng.choice(ORG_ADDRESSES)
    colour = f"#{rng.randrange(0xFFFFFF):06x}"
    code = rng.choice(CODES)
    menu = rng.sample(["Home", "News", "Sport", "Schools", *rng.sample(SCHOOLS, 2), "Business",
                       "Jobs", "Property", "Contact us", "Weather", "Lives in Leeds magazine"], 8)  # fmt: skip
    tickers = " · ".join(rng.sample(TICKERS, 4))
    related = "".join(
        f"<li><a href='/r/{i}'>{escape(t)}</a></li>"
        for i, t in enumerate(rng.sample(
            ["Council tax to rise 4.9%", f"New head for {rng.choice(SCHOOLS)}",
             f"Roadworks on {rng.choice(STREETS)}", "Where to eat this weekend",
             f"Parents queue for places at {rng.choice(SCHOOLS)}", f"Born on {_date(rng, 1958)}: a life in music",
             "Five things to do with the kids this half term"], 4))
    )  # fmt: skip
    return f"""<!doctype html>
<html lang="{lang}"><head><meta charset="utf-8"><title>{escape(title)}</title>{meta}
<style>body{{color:{colour};background:#AB1 2CD}} .hero{{border:1px solid #{code.replace(" ", "")}}}
.btn::after{{content:"{code}"}}</style>
<script>window.dataLayer=[{{"postcode":"{address[-8:]}","school":"{rng.choice(SCHOOLS)}",
"dob":"born on 01/02/{YEAR - 9}","phone":"07700 900{rng.randint(100, 999)}"}}];</script>
</head><body>
<header><nav><ul>{"".join(f"<li><a href='/{i}'>{escape(m)}</a></li>" for i, m in enumerate(menu))}</ul></nav>
<div class="ticker">{escape(tickers)}</div></header>
<main><article><h1>{escape(title)}</h1>
{main}
</article></main>
<aside><h2>Related</h2><ul>{related}</ul><p>Shop: item {code}, colour {colour}, SKU {rng.choice(CODES)}</p></aside>
<footer><p>© {YEAR} {escape(org)}, {escape(address)}. Tel {phone}. Email {email}.</p>
<p>Registered in England. Privacy · Cookies · Accessibility</p></footer>
</body></html>
"""


def _paras(*texts: str) -> str:
    return "\n".join(f"<p>{escape(t)}</p>" for t in texts)


# --- unrelated main texts: each a function of the random source ---------------------


def news_en(rng: random.Random) -> str:
    a, b = rng.sample(ADULTS, 2)
    town, school = rng.choice(TOWNS), rng.choice(SCHOOLS)
    return _paras(
        f"Plans for a new bus station in {town} were approved on Tuesday after a two-hour debate.",
        f"{a}, {rng.randint(34, 70)}, who lives in {town}, told the meeting the scheme was overdue. "
        f'"We have waited ten years," she said.',
        f"The developer, based in {rng.choice(TOWNS)}, said work would start in spring. Shares ({rng.choice(TICKERS)}) "
        f"rose after the announcement; the site at {rng.choice(STREETS)} is next to {school}.",
        f"{b} said the council would publish the full plans online. Comments close on {_date(rng, YEAR)}.",
    )


def school_news_en(rng: random.Random) -> str:
    school, head = rng.choice(SCHOOLS), rng.choice(ADULTS)
    return _paras(
        f"{school} has been rated Good by Ofsted for the third inspection running.",
        f"Inspectors praised the school's reading programme and its work with families. "
        f'Headteacher {head} said: "I am proud of every member of staff at {school}."',
        f"Pupils in Year 6 raised £{rng.randint(200, 900)} for charity this term, and the school "
        f"moved to a new building on {rng.choice(STREETS)} in {YEAR - 2}.",
        f"Parents can apply for places for your child before {_date(rng, YEAR)} on the council website.",
    )


def obituary_en(rng: random.Random) -> str:
    name, town = rng.choice(ADULTS), rng.choice(TOWNS)
    return _paras(
        f"{name}, who has died aged {rng.randint(70, 96)}, was born on {_date(rng, rng.randint(1925, 1955))} "
        f"in {town} and grew up in {rng.choice(TOWNS)}.",
        f"After leaving {rng.choice(SCHOOLS)} at 15 she worked at the mill on {rng.choice(STREETS)}. "
        f"She lived in {rng.choice(TOWNS)} for forty years.",
        f"She is survived by two sons and five grandchildren. The funeral is on {_date(rng, YEAR)}.",
    )


def council_en(rng: random.Random) -> str:
    org, address, phone, email = rng.choice(ORG_ADDRESSES[:2])
    return _paras(
        "Apply for a school place",
        f"You can apply online for a primary or secondary school place. The closing date is {_date(rng, YEAR)}.",
        f"If you need help, call the admissions team on {phone} (Monday to Friday, 9am to 5pm) "
        f"or email admissions@{email.rpartition('@')[2]}.",
        f"Write to: School Admissions, {org}, {address}. Postcode for satnav: {address[-8:]}.",
        f"Our offices are at {address}. Visit us at {rng.choice(['Merrion Centre', 'Riverside House'])}, "
        f"{address[-8:]}.",
    )


def sport_en(rng: random.Random) -> str:
    t1, t2 = rng.sample(["Leeds United", "Bradford City", "Huddersfield Town", "Barnsley",
                         "Doncaster Rovers", "Harrogate Town"], 2)  # fmt: skip
    scorer = rng.choice(ADULTS)
    return _paras(
        f"{t1} {rng.randint(0, 4)}-{rng.randint(0, 4)} {t2}",
        f"{scorer}, 27, scored in the {rng.randint(2, 89)}th minute. The club, based in "
        f"{rng.choice(TOWNS)}, moved to third in the table.",
        f"Attendance: {rng.randint(5000, 35000):,}. Next fixture: {_date(rng, YEAR)}, kick-off 3pm.",
        f"Team: {', '.join(rng.sample(['Walsh', 'Obi', 'Patel', 'Dupont', 'Brown', 'Jones', 'Price', 'Khan'], 6))}.",
    )


def recipe_en(rng: random.Random) -> str:
    return _paras(
        f"Serves {rng.randint(2, 8)}. Preheat the oven to {rng.choice([160, 180, 200])}C (gas {rng.randint(3, 7)}).",
        f"You will need: 200g flour (product code {rng.choice(CODES)}), 2 eggs, 100ml milk, "
        f"a pinch of salt. Tin size 20cm (item {rng.choice(CODES)}).",
        "Whisk, rest for 30 minutes, then bake for 25 minutes until golden. "
        "My kids love this on a Sunday, and so do I.",
        f"Nutrition per portion: 320 kcal. Colour of the glaze: {f'#{rng.randrange(0xFFFFFF):06x}'}.",
    )


def job_en(rng: random.Random) -> str:
    school = rng.choice(SCHOOLS)
    _, address, phone, email = rng.choice(ORG_ADDRESSES)
    return _paras(
        f"Teaching Assistant, {school}",
        f"Salary £{rng.randint(19, 26)},{rng.randint(100, 999)}. Ref: {rng.choice(CODES)}-TA. Closing date {_date(rng, YEAR)}.",
        f"{school} is looking for a caring teaching assistant to join our team in {rng.choice(TOWNS)}.",
        f"For an application pack contact recruitment on {phone} or jobs@{email.rpartition('@')[2]}. "
        f"Interviews will be held at {address}.",
    )


def shop_en(rng: random.Random) -> str:
    return _paras(
        f"Cordless drill, model {rng.choice(CODES)}, £{rng.randint(30, 200)}.99",
        f"SKU {rng.choice(CODES)} · EAN 50{rng.randint(10**10, 10**11 - 1)} · Colour {f'#{rng.randrange(0xFFFFFF):06X}'}",
        f"Delivery to postcodes {rng.choice(CODES)}, {rng.choice(CODES)} and most of the mainland in 2-3 days.",
        f'Customer reviews (4.{rng.randint(0, 9)}): "Bought this for my son, he loves it" - verified buyer.',
    )


def news_pl(rng: random.Random) -> str:
    return _paras(
        f"Rada miasta {rng.choice(TOWNS)} przyjęła budżet na {YEAR} rok. Radny {rng.choice(ADULTS)} "
        f"(lat {rng.randint(30, 70)}) głosował przeciw.",
        f"Kurs akcji {rng.choice(TICKERS)} wzrósł o 2%. Kod produktu {rng.choice(CODES)}.",
        f"Urodzony {_date(rng, rng.randint(1940, 1980))} w Krakowie, mieszka w {rng.choice(TOWNS)} od 2004 roku.",
        "Szkoły w regionie otrzymają nowe komputery. Rodzice mogą składać wnioski do końca miesiąca.",
    )


def news_es(rng: random.Random) -> str:
    return _paras(
        f"El ayuntamiento de {rng.choice(TOWNS)} aprobó el presupuesto de {YEAR}.",
        f"{rng.choice(ADULTS)}, de {rng.randint(30, 70)} años, nació el {_date(rng, rng.randint(1940, 1985))} y vive en Londres.",
        f"Las acciones ({rng.choice(TICKERS)}) subieron un 3%. Referencia del producto: {rng.choice(CODES)}.",
        f"Los colegios, como {rng.choice(SCHOOLS)}, abren el lunes.",
    )


def news_fr(rng: random.Random) -> str:
    return _paras(
        f"La mairie de {rng.choice(TOWNS)} a voté le budget {YEAR}. {rng.choice(ADULTS)}, {rng.randint(30, 70)} ans, s'y oppose.",
        f"Né le {_date(rng, rng.randint(1940, 1985))}, il habite à Londres depuis vingt ans.",
        f"Bourse : {rng.choice(TICKERS)}, {rng.choice(TICKERS)}. Code article {rng.choice(CODES)}.",
        f"L'école {rng.choice(SCHOOLS)} ouvre ses portes samedi.",
    )


def news_ur(rng: random.Random) -> str:
    return _paras(
        f"{rng.choice(TOWNS)} کی کونسل نے {YEAR} کا بجٹ منظور کر لیا۔ کونسلر {rng.choice(ADULTS)} نے مخالفت کی۔",
        f"مارکیٹ: {rng.choice(TICKERS)} ۔ پروڈکٹ کوڈ {rng.choice(CODES)} ۔",
        f"مجلس المدينة في {rng.choice(TOWNS)} وافقت على الميزانية. ولد في {_date(rng, rng.randint(1940, 1980))}.",
        f"اسکول {rng.choice(SCHOOLS)} پیر کو کھلے گا۔",
    )


UNRELATED = [news_en, school_news_en, obituary_en, council_en, sport_en, recipe_en, job_en,
             shop_en, news_pl, news_es, news_fr, news_ur]  # fmt: skip
LANGS = {"news_pl": "pl", "news_es": "es", "news_fr": "fr", "news_ur": "ur"}


# --- exposing main texts: (html, expected kinds) -------------------------------------


def _child(rng: random.Random) -> tuple[str, str]:
    first, last = rng.choice(CHILD_FIRST), rng.choice(CHILD_LAST)
    return first, f"{first} {last}"


def parent_post(rng: random.Random, first: str, full: str) -> tuple[str, set[str]]:
    kin = rng.choice(["my daughter", "our son", "my little girl", "my eldest", "our boy"])
    school = rng.choice(SCHOOLS)
    return _paras(
        f"So proud of {kin} {full} today! First day in Year {rng.randint(1, 9)} at {school} 🎒",
        f"Can't believe {first} is {rng.randint(5, 13)} already. Where does the time go ❤️",
        f"{rng.randint(3, 90)} likes · {rng.randint(1, 20)} comments",
    ), {"full_name", "school"}


def child_profile(rng: random.Random, first: str, full: str) -> tuple[str, set[str]]:
    town = rng.choice(TOWNS)
    return _paras(
        f"{full}",
        f"Lives in {town}",
        f"Birthday {_date(rng, YEAR - rng.randint(10, 15))}",
        f"Hi I'm {first}! I love netball and drawing. I go to {rng.choice(SCHOOLS)}.",
    ), {"full_name", "town", "date_of_birth", "school"}


def club_list(rng: random.Random, first: str, full: str) -> tuple[str, set[str]]:
    others = [f"{rng.choice(CHILD_FIRST)} {rng.choice(CHILD_LAST)}" for _ in range(3)]
    dob = _date(rng, YEAR - rng.randint(9, 12))
    rows = "".join(f"<tr><td>{escape(n)}</td><td>U12</td></tr>" for n in others)
    return (
        f"<p>Under 12s squad for Saturday's tournament.</p><table>{rows}"
        f"<tr><td>{escape(full)} (DOB {escape(dob)})</td><td>U12</td></tr></table>"
        "<p>Please arrive by 9am with shin pads.</p>",
        {"full_name", "date_of_birth"},
    )


def photo_caption(rng: random.Random, first: str, full: str) -> tuple[str, set[str]]:
    return (
        _paras(
            f"{full} at the beach this morning ☀️",
            f"📍 {rng.choice(TOWNS)} seafront · Photo by Mum",
        ),
        {"full_name", "geotag"},
    )


def newsletter(rng: random.Random, first: str, full: str) -> tuple[str, set[str]]:
    school = rng.choice(SCHOOLS)
    return _paras(
        f"{school} newsletter, week {rng.randint(1, 38)}",
        f"Star of the week: {full} (Year {rng.randint(1, 6)}) for fantastic reading!",
        f"{first} has read {rng.randint(10, 60)} books this term at {school}.",
    ), {"full_name", "school"}


def family_blog(rng: random.Random, first: str, full: str) -> tuple[str, set[str]]:
    i = rng.randrange(len(TOWNS))
    return _paras(
        f"Big news: we moved to {TOWNS[i]} last month with my son {first}!",
        f"Send {first}'s birthday cards to our new address: {rng.randint(1, 120)} "
        f"{rng.choice(STREETS)}, {TOWNS[i]}, {POSTCODES[i]}.",
        f"{full} says hello to all his old friends.",
    ), {"full_name", "town", "postcode"}


def child_post(rng: random.Random, first: str, full: str) -> tuple[str, set[str]]:
    return _paras(
        f"hi im {first} and im {rng.randint(11, 15)} 😎 I go to {rng.choice(SCHOOLS)}",
        f"text me 07{rng.randint(700, 799)} {rng.randint(100000, 999999)} or add me on snap",
        f"— {full}",
    ), {"full_name", "school", "phone"}


def birthday_post(rng: random.Random, first: str, full: str) -> tuple[str, set[str]]:
    age = rng.randint(6, 14)
    suffix = {1: "st", 2: "nd", 3: "rd"}.get(age % 10 if age not in (11, 12, 13) else 0, "th")
    return _paras(
        f"Happy {age}{suffix} birthday to our gorgeous girl {full}! 🎂",
        f"Born on {_date(rng, YEAR - age)} and she's been lighting up our lives ever since.",
    ), {"full_name", "date_of_birth"}


def polish_post(rng: random.Random, first: str, full: str) -> tuple[str, set[str]]:
    return _paras(
        f"Moja córka {full} (lat {rng.randint(7, 12)}) zaczęła naukę w {rng.choice(SCHOOLS)}!",
        f"Mieszkamy teraz w {rng.choice(TOWNS)}. Email: {first.lower()}{rng.randint(10, 99)}@gmail.com",
    ), {"full_name", "school", "email"}


def lost_pet(rng: random.Random, first: str, full: str) -> tuple[str, set[str]]:
    i = rng.randrange(len(TOWNS))
    return _paras(
        f"LOST CAT near {rng.choice(STREETS)}! My son {first} is heartbroken.",
        f"Please ring our landline 01{rng.randint(100, 999)} {rng.randint(100000, 999999)} or knock at "
        f"{rng.randint(1, 90)} {rng.choice(STREETS)}, {POSTCODES[i]}.",
        f"Thank you - {full}'s mum",
    ), {"full_name", "phone", "postcode"}


EXPOSING = [parent_post, child_profile, club_list, photo_caption, newsletter, family_blog,
            child_post, birthday_post, polish_post, lost_pet]  # fmt: skip


def main() -> None:
    rng = random.Random(SEED)
    pages = HERE / "pages"
    pages.mkdir(exist_ok=True)
    for old in pages.glob("*.html"):
        old.unlink()
    labels: dict[str, dict[str, object]] = {}
    for n in range(132):
        make = UNRELATED[n % len(UNRELATED)]
        name = f"unrelated_{n:03d}_{make.__name__}.html"
        first, full = _child(rng)
        lang = LANGS.get(make.__name__, "en")
        (pages / name).write_text(
            _chrome(rng, make.__name__.replace("_", " "), make(rng), lang), "utf-8"
        )
        labels[name] = {"subject": full, "expect": []}
    for n in range(40):
        make = EXPOSING[n % len(EXPOSING)]
        name = f"exposing_{n:03d}_{make.__name__}.html"
        first, full = _child(rng)
        main, expect = make(rng, first, full)
        meta = ""
        if "geotag" in expect:
            meta = f'<meta name="geo.position" content="53.{rng.randint(1000, 9999)};-1.{rng.randint(1000, 9999)}">'
        (pages / name).write_text(_chrome(rng, f"{first}'s page", main, meta=meta), "utf-8")
        labels[name] = {"subject": full, "expect": sorted(expect)}
    (HERE / "labels.json").write_text(json.dumps(labels, indent=1, sort_keys=True) + "\n", "utf-8")
    print(f"{len(labels)} pages written to {pages}")


if __name__ == "__main__":
    main()
