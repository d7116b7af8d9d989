"""Realistic contribution content for the demo round: text, budget lines, outcomes, partners.

Every CSP gets text written about its own area, so the review and merge pages have something
true-looking to show. Figures are illustrative, not real statistics.
"""

from __future__ import annotations

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
        "{n1} offences involving young people under 18 in 2017/18, up from {n2} the year before, and the "
        "youth offending service has {n3} young people open to it for violence-related offences.\n\n"
        "Our 2018 problem profile found three things:\n"
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
        "The council has agreed to keep one youth worker post after March 2020 if the evaluation shows the "
        "programme works. Mentors will hand young people on to universal youth services before the funding ends."
    ),
    "Risks and mitigations": (
        "- Recruitment delays: we will second existing youth workers while posts are filled\n"
        "- Low referrals from schools: the programme lead will attend head teacher forums each term\n"
        "- Young people moving between areas: we will share information through the Thames Valley panel"
    ),
    "Delivery timetable and milestones": (
        "1. November 2018: recruit youth workers and commission mentoring\n"
        "2. January 2019: first referrals and detached work begins\n"
        "3. July 2019: interim evaluation report\n"
        "4. March 2020: final report and handover"
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
    ("Young people engaged through detached youth work", "0", "{cohort}", date(2020, 3, 31)),
    ("Young people referred by schools completing the six-week programme", "0", "60", date(2020, 3, 31)),
    (
        "Reduction in repeat violent offending by participants after 12 months",
        "Baseline to be set in January 2019",
        "25% fewer",
        date(2020, 3, 31),
    ),
]

PARTNERS = [
    ("{partner}", "Delivers detached youth work and refers young people"),
    ("{school}", "Refers pupils at risk of exclusion and hosts the six-week programme"),
    ("Thames Valley Police", "Shares intelligence through the child exploitation panel"),
]


def local(short_name: str) -> dict:
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
    }
