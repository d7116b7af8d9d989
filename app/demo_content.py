"""Realistic contribution content for the demo rounds: text, budget lines, outcomes, partners.

Every CSP gets text written about its own area, so the review and merge pages have something
true-looking to show. Figures are illustrative, not real statistics.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

# Per CSP: (town, youth service or charity partner, school or college partner, a local issue)
LOCAL = {
    "Bracknell Forest CSP": (
        "Bracknell",
        "Bracknell Forest Youth Service",
        "Garth Hill College",
        "anti-social behaviour around the town centre",
    ),
    "Reading CSP": (
        "Reading",
        "Reading Youth Offending Service",
        "Reading College",
        "county lines exploitation linked to London",
    ),
    "Safer Slough": (
        "Slough",
        "Slough Children First",
        "Slough and Eton Church of England Business and Enterprise College",
        "knife possession by under-18s",
    ),
    "West Berkshire BCT": (
        "Newbury",
        "West Berkshire Youth Offending Team",
        "Newbury College",
        "young people drawn into drug supply in market towns",
    ),
    "RBWM CSP": ("Maidenhead", "Achieving for Children", "Furze Platt Senior School", "exploitation at transport hubs"),
    "Wokingham CSP": (
        "Wokingham",
        "Wokingham Youth Offending Service",
        "The Forest School",
        "rising school exclusions",
    ),
    "Safer MK": (
        "Milton Keynes",
        "MK Youth Offending Team",
        "Milton Keynes College",
        "serious youth violence and gang rivalry",
    ),
    "Aylesbury Vale CSP": (
        "Aylesbury",
        "Buckinghamshire Youth Service",
        "Aylesbury College",
        "county lines activity on the Aylesbury estates",
    ),
    "Chiltern and South Bucks CSP": (
        "Chesham",
        "Buckinghamshire Youth Service",
        "Chesham Grammar School",
        "hidden exploitation in affluent areas",
    ),
    "Wycombe CSP": (
        "High Wycombe",
        "Wycombe Youth Action",
        "Buckinghamshire College Group",
        "knife crime in the town centre",
    ),
    "Cherwell SCP": ("Banbury", "Oxfordshire Youth", "Banbury Academy", "young people carrying weapons for protection"),
    "Oxford CSP": (
        "Oxford",
        "Oxford Youth Justice Service",
        "Oxford Spires Academy",
        "criminal exploitation in the city's east",
    ),
    "South and Vale CSP": (
        "Didcot",
        "Oxfordshire Youth",
        "Didcot Girls' School",
        "young people at risk in new housing developments",
    ),
    "West Oxfordshire CSP": (
        "Witney",
        "Oxfordshire Youth",
        "Henry Box School",
        "isolated rural young people targeted by dealers",
    ),
}

SECTION_TEXT = {
    "Local need and evidence": (
        "{town} has seen a clear rise in {issue} over the last two years. Police data for {town} shows "
        "{n1} offences involving young people under 18 in {last_fy}, up from {n2} the year before, and the "
        "youth offending service has {n3} young people open to it for violence-related offences.\n\n"
        "Our {profile_year} problem profile found three things:\n"
        "- most incidents involve young people aged 14 to 17\n"
        "- half of them had been excluded, or were at risk of exclusion, from school\n"
        "- referrals from schools come late, often after a first arrest\n\n"
        "Partners agree that earlier, joined-up support would stop many of these young people being drawn further in."
    ),
    "Proposed interventions and delivery model": (
        "We will fund two detached youth workers to work where young people in {town} gather in the evenings and "
        "at weekends, and a mentoring service commissioned from a specialist charity for young people already "
        "involved in violence or exploitation.\n\n"
        "Youth workers will work alongside {partner}, and schools including {school} will refer young people at "
        "risk of exclusion to a six-week programme delivered in school time."
    ),
    "Target cohort, identification and referral": (
        "We will work with around {cohort} young people aged 10 to 17 over the two years. Young people will be "
        "identified through the multi-agency child exploitation panel, school exclusion data, police intelligence "
        "and referrals from {partner}. A single referral form will be used by all partners."
    ),
    "Evidence base": (
        "Detached youth work and mentoring both appear in the Early Intervention Foundation guidebook for "
        "reducing youth violence. A similar programme in a neighbouring area reduced repeat offending among "
        "participants by a third in its first year."
    ),
    "Outcomes, monitoring and evaluation": (
        "We will measure the number of young people engaged, school attendance and exclusions, and repeat "
        "offending at 6 and 12 months. Data will be collected by the youth offending service and reported to "
        "the community safety partnership every quarter, and we will take part in the Thames Valley-wide evaluation."
    ),
    "Budget narrative": (
        "Most of the money pays for the two youth workers and the commissioned mentoring. Match funding comes "
        "from the council's youth service (staff time, in-kind) and from {partner}."
    ),
    "Sustainability and exit strategy": (
        "The council has agreed to keep one youth worker post after {end} if the evaluation shows the "
        "programme works. Mentors will hand young people on to universal youth services before the funding ends."
    ),
    "Risks and mitigations": (
        "- Recruitment delays: we will second existing youth workers while posts are filled\n"
        "- Low referrals from schools: the programme lead will attend head teacher forums each term\n"
        "- Young people moving between areas: we will share information through the Thames Valley panel"
    ),
    "Delivery timetable and milestones": (
        "1. {recruit}: recruit youth workers and commission mentoring\n"
        "2. {first_referrals}: first referrals and detached work begins\n"
        "3. {interim}: interim evaluation report\n"
        "4. {end}: final report and handover"
    ),
    "Safeguarding": (
        "All staff and volunteers will have enhanced DBS checks and safeguarding training at level 2 or above. "
        "The programme follows the Thames Valley child exploitation protocol, and concerns are reported to the "
        "multi-agency safeguarding hub the same day."
    ),
}

# (year index, category, description, amount in pounds, match in pounds, match type, match source)
BUDGET_LINES = [
    (0, "Staff", "Detached youth worker (1 FTE)", 32500, 0, None, None),
    (0, "Staff", "Detached youth worker (1 FTE)", 32500, 0, None, None),
    (
        0,
        "Commissioned services",
        "Specialist mentoring for young people involved in violence",
        18000,
        4000,
        "cash",
        "{partner}",
    ),
    (
        0,
        "Training",
        "Trauma-informed practice training for youth workers and teachers",
        3500,
        1500,
        "in_kind",
        "Council training team",
    ),
    (0, "Equipment", "Mobile phones and laptops for outreach staff", 1800, 0, None, None),
    (0, "Programme management", "Programme coordination (0.2 FTE)", 6200, 6200, "in_kind", "Community safety team"),
    (1, "Staff", "Detached youth worker (1 FTE)", 33150, 0, None, None),
    (1, "Staff", "Detached youth worker (1 FTE)", 33150, 0, None, None),
    (
        1,
        "Commissioned services",
        "Specialist mentoring for young people involved in violence",
        18000,
        4000,
        "cash",
        "{partner}",
    ),
    (1, "Training", "Refresher training and peer learning", 1500, 500, "in_kind", "Council training team"),
    (1, "Evaluation", "Local evaluation and data analysis", 4000, 0, None, None),
    (1, "Programme management", "Programme coordination (0.2 FTE)", 6300, 6300, "in_kind", "Community safety team"),
]

OUTCOMES = [
    ("Young people engaged through detached youth work", "0", "{cohort}"),
    ("Young people referred by schools completing the six-week programme", "0", "60"),
    (
        "Reduction in repeat violent offending by participants after 12 months",
        "Baseline to be set in {first_referrals}",
        "25% fewer",
    ),
]

PARTNERS = [
    ("{partner}", "Delivers detached youth work and refers young people"),
    ("{school}", "Refers pupils at risk of exclusion and hosts the six-week programme"),
    ("Thames Valley Police", "Shares intelligence through the child exploitation panel"),
]


def financial_year(start_year: int) -> str:
    """The UK financial year starting on 1 April of start_year, written the usual way: 2018/19."""
    return f"{start_year}/{(start_year + 1) % 100:02d}"


def financial_year_of(day: date) -> int:
    """The calendar year in which the financial year holding `day` began."""
    return day.year if day >= date(day.year, 4, 1) else day.year - 1


def _month(day: date, add: int) -> str:
    index = day.month - 1 + add
    return date(day.year + index // 12, index % 12 + 1, 1).strftime("%B %Y")


@dataclass(frozen=True)
class Period:
    """When a round's contributions are written and what they are for: the dates inside the text."""

    first_year: int  # the bid is for this financial year and the next
    written_on: date  # when the CSPs write (their latest figures are for the year before)
    starts: date  # delivery starts: recruitment

    @property
    def years(self) -> list[str]:
        return [financial_year(self.first_year), financial_year(self.first_year + 1)]

    @property
    def end_date(self) -> date:
        return date(self.first_year + 2, 3, 31)

    def facts(self) -> dict:
        return {
            "last_fy": financial_year(financial_year_of(self.written_on) - 1),
            "profile_year": self.written_on.year,
            "recruit": _month(self.starts, 0),
            "first_referrals": _month(self.starts, 2),
            "interim": _month(self.starts, 8),
            "end": self.end_date.strftime("%B %Y"),
        }


# The 2018 round: written in August 2018, delivered from November 2018 to March 2020.
PERIOD_2018 = Period(first_year=2018, written_on=date(2018, 8, 20), starts=date(2018, 11, 1))


def local(short_name: str, period: Period = PERIOD_2018) -> dict:
    town, partner, school, issue = LOCAL.get(
        short_name, ("the area", "the youth service", "local schools", "youth violence")
    )
    seed = sum(map(ord, short_name))
    return {
        "town": town,
        "partner": partner,
        "school": school,
        "issue": issue,
        "n1": 120 + seed % 140,
        "n2": 80 + seed % 90,
        "n3": 20 + seed % 35,
        "cohort": 90 + seed % 80,
        **period.facts(),
    }


# --- the Early Intervention Youth Fund 2018 round, as it ended -------------------------------------

# Each CSP's budget for its part of the four-tier programme: about £51,500 over the two years, so
# that thirteen CSPs and the lead's own lines stay within the £350,000 a year cap.
# (year index, category, description, amount in pounds, match in pounds, match type, match source)
BUDGET_LINES_2018 = [
    (0, "Commissioned services", "Schools awareness sessions on knife crime and exploitation", 3500, 1000,
     "in_kind", "{school}"),
    (0, "Staff", "Exclusions support worker (0.4 FTE)", 8000, 0, None, None),
    (0, "Commissioned services", "Detached youth work, two evenings a week", 8500, 0, None, None),
    (0, "Commissioned services", "Intensive one-to-one work with young people in gangs or carrying knives", 5500,
     2000, "cash", "{partner}"),
    (1, "Commissioned services", "Schools awareness sessions on knife crime and exploitation", 3500, 1000,
     "in_kind", "{school}"),
    (1, "Staff", "Exclusions support worker (0.4 FTE)", 8500, 0, None, None),
    (1, "Commissioned services", "Detached youth work, two evenings a week", 9000, 0, None, None),
    (1, "Commissioned services", "Intensive one-to-one work with young people in gangs or carrying knives", 5000,
     2000, "cash", "{partner}"),
]

# The lead bidder's own lines: (year index, category, description, pounds, match, match type, source)
LEAD_LINES_2018 = [
    (0, "Programme management", "Thames Valley programme coordinator (0.5 FTE)", 15000, 15000, "in_kind",
     "Office of the Police and Crime Commissioner"),
    (1, "Evaluation", "Independent evaluation of the Thames Valley programme", 10000, 0, None, None),
]

# Sections the lead bidder writes itself.
LEAD_TEXT_2018 = {
    "Summary of the proposal": (
        "Thames Valley's Community Safety Partnerships, led by the Police and Crime Commissioner, propose one "
        "programme across Berkshire, Buckinghamshire, Milton Keynes and Oxfordshire to keep young people under 18 "
        "away from serious violence, gangs and county lines.\n\n"
        "The programme has four tiers:\n"
        "- awareness sessions in schools on knife crime and criminal exploitation\n"
        "- support for young people excluded, or at risk of exclusion, from school\n"
        "- detached youth work where young people gather in the evenings and at weekends\n"
        "- intensive one-to-one work with young people already involved in gangs or knife crime\n\n"
        "Thirteen partnerships deliver it locally to a shared model from November 2018 to March 2020, with one "
        "Thames Valley-wide evaluation."
    ),
    "Partnership and governance": (
        "The Police and Crime Commissioner for Thames Valley is the lead bidder and accountable body, and holds "
        "the grant agreement with the Home Office. A programme board chaired by the Deputy Police and Crime "
        "Commissioner, with a Community Safety Manager from each county and Thames Valley Police, oversees "
        "delivery, spending and the evaluation every quarter.\n\n"
        "Each Community Safety Partnership leads delivery in its own area, commissions local providers through "
        "its council's procurement rules and reports to the board. The Chief Finance Officer pays partnerships "
        "in arrears each quarter against their returns."
    ),
}

# What the lead wrote above the partnerships' points when it shortened each merged section.
MERGED_INTRO_2018 = {
    "Local need and evidence": (
        "Every partnership has seen more young people drawn into violence, exploitation and drug supply since "
        "2016. Their problem profiles agree: most incidents involve 14 to 17 year olds, many of them out of school."
    ),
    "Proposed interventions and delivery model": (
        "Each partnership delivers the four tiers to a shared model, through its youth service, youth offending "
        "team and commissioned voluntary sector providers."
    ),
    "Target cohort, identification and referral": (
        "The programme is for young people aged 10 to 17 at risk of serious violence, as victims or "
        "perpetrators, identified through exploitation panels, exclusion data, police intelligence and a single "
        "referral form."
    ),
    "Evidence base": (
        "Each tier draws on the Early Intervention Foundation guidebook and on local results from similar work."
    ),
    "Outcomes, monitoring and evaluation": (
        "Partnerships report the same measures every quarter: young people engaged, school attendance and "
        "exclusions, and repeat offending at 6 and 12 months. One independent evaluation covers Thames Valley."
    ),
    "Budget narrative": (
        "Most of the money pays for commissioned youth work and mentoring, and part-time exclusions support "
        "workers. Schools give staff time to the awareness sessions, local partners add cash for the intensive "
        "one-to-one work, and the Office of the Police and Crime Commissioner coordinates the programme in kind."
    ),
    "Sustainability and exit strategy": (
        "Councils will keep the posts that the evaluation shows work, and young people are handed on to "
        "universal youth services before the funding ends in March 2020."
    ),
    "Risks and mitigations": (
        "- Recruitment delays: partnerships second existing youth workers while posts are filled\n"
        "- Low referrals from schools: programme leads attend head teacher forums each term\n"
        "- Young people moving between areas: information is shared through the Thames Valley panel"
    ),
    "Delivery timetable and milestones": (
        "1. November 2018: recruit and commission\n"
        "2. January 2019: first referrals and detached work begins\n"
        "3. July 2019: interim evaluation report\n"
        "4. March 2020: final report and handover"
    ),
    "Safeguarding": (
        "All staff and volunteers have enhanced DBS checks and safeguarding training at level 2 or above. The "
        "programme follows the Thames Valley child exploitation protocol, and concerns go to each area's "
        "multi-agency safeguarding hub the same day."
    ),
}


def minimal_pdf(title: str) -> bytes:
    """A one-page PDF showing `title`: a supporting document for the demo's contributions."""
    text = title.replace("\\", "").replace("(", "").replace(")", "")
    stream = f"BT /F1 14 Tf 72 770 Td ({text}) Tj ET".encode("latin-1", "replace")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{o:010d} 00000 n \n".encode() for o in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)
