"""Built-in starting points for a round: the Early Intervention Youth Fund 2018 template.

The funder's exact form is not public; this follows similar PCC and Home Office forms and is
edited per round.
"""

from __future__ import annotations

EIYF_2018 = {
    "key": "eiyf-2018",
    "label": "Early Intervention Youth Fund 2018 (Home Office)",
    "fund_name": "Early Intervention Youth Fund",
    "funder": "Home Office",
    "summary": (
        "Up to £700,000 per bid, split equally across 2018/19 and 2019/20, for early intervention and "
        "prevention work that keeps young people under 18 away from crime and violence, including gangs "
        "and county lines. Police and Crime Commissioners bid as lead bidder with their Community Safety "
        "Partnerships. Some match funding is expected."
    ),
    "cap_per_bid_pence": 700_000_00,
    "match_percent": None,
    "match_cash": True,
    "match_in_kind": True,
    "financial_years": [("2018/19", 350_000_00), ("2019/20", 350_000_00)],
    "cost_categories": [
        "Staff",
        "Commissioned services",
        "Training",
        "Equipment",
        "Evaluation",
        "Programme management",
    ],
    # (title, guidance, merged word limit, per-CSP word limit, required, CSPs contribute)
    "sections": [
        ("Summary of the proposal",
         "A short overview of the whole programme: what will be delivered, where, for whom, and what it "
         "will achieve. The lead bidder writes this from the partners' contributions.",
         250, None, True, False),
        ("Local need and evidence",
         "Describe the problem in your area: your problem profile, local data on violence, knife crime, "
         "gangs and county lines, exclusions and referrals. Say where the data comes from.",
         1000, 300, True, True),
        ("Proposed interventions and delivery model",
         "What you will deliver, who will deliver it, and how it works day to day. Include any "
         "commissioned services and how they will be procured.",
         1500, 400, True, True),
        ("Target cohort, identification and referral",
         "Which young people the work is for (ages, risk factors, numbers) and how they will be "
         "identified and referred, including by schools, youth offending teams and police.",
         750, 250, True, True),
        ("Evidence base",
         "Why these interventions should work: evaluations, the Early Intervention Foundation guidebook, "
         "or local results from similar work.",
         750, 250, True, True),
        ("Outcomes, monitoring and evaluation",
         "What will change, how you will measure it, and who will evaluate it. Add your measurable "
         "outcomes in the Outcomes part of this contribution.",
         750, 250, True, True),
        ("Partnership and governance",
         "Who does what, the accountable body, and how the partnership will oversee delivery. The lead "
         "bidder writes this section.",
         750, None, True, False),
        ("Budget narrative",
         "How the money will be spent and why it is value for money. Add the figures as budget lines in "
         "the Budget part of this contribution.",
         500, 150, True, True),
        ("Sustainability and exit strategy",
         "How the work will continue, or end safely, after the funding stops.",
         500, 150, True, True),
        ("Risks and mitigations",
         "The main risks to delivery and what you will do about each.",
         500, 150, True, True),
        ("Delivery timetable and milestones",
         "Key dates from mobilisation to the end of March 2020.",
         500, 150, True, True),
        ("Safeguarding",
         "How children and young people will be kept safe: policies, DBS checks, training and "
         "information sharing.",
         500, 150, True, True),
    ],
}

TEMPLATES = {EIYF_2018["key"]: EIYF_2018}
