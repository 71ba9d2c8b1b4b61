"""The fixed vocabulary of a justification file (a contract with the acceptance checks).

Kept apart from the dataclass so the policy can name free-text keys without importing
the parser, which itself needs the policy for the default data-protection basis.
"""

from __future__ import annotations

from typing import Final

STATUTORY_FUNCTIONS: Final = (
    "s47",
    "s17",
    "s31",
    "s20",
    "missing_child",
    "leaving_care",
    "court_direction",
    "other",
)
LESS_INTRUSIVE_ROUTES: Final = (
    "asked_family",
    "partner_agencies",
    "police",
    "school",
    "health",
    "other",
)
INTRUSION_LEVELS: Final = ("low", "medium", "high")
FAMILY_TOLD_VALUES: Final = ("yes", "no", "later")

# Every key of the file, in the order the contract example lists them.
KEYS: Final = (
    "subjects",
    "statutory_function",
    "statutory_function_other",
    "data_protection_basis",
    "question",
    "safety_case",
    "ethics_case",
    "balance",
    "less_intrusive_considered",
    "why_not_enough",
    "proportionality",
    "intrusion_level",
    "collateral_intrusion",
    "scope_hosts",
    "scope_urls",
    "planned_viewings",
    "valid_until",
    "family_told",
    "family_told_reason",
    "attest_logged_out",
    "attest_no_personal_or_fake_profile",
    "attest_no_interaction",
    "attest_no_restricted_content",
    "emergency",
    "emergency_reason",
)

# The keys whose value is a worker's own prose; the policy sets a minimum length for each.
FREE_TEXT_KEYS: Final = (
    "statutory_function_other",
    "question",
    "safety_case",
    "ethics_case",
    "balance",
    "why_not_enough",
    "proportionality",
    "collateral_intrusion",
    "family_told_reason",
    "emergency_reason",
)

ATTESTATION_KEYS: Final = (
    "attest_logged_out",
    "attest_no_personal_or_fake_profile",
    "attest_no_interaction",
    "attest_no_restricted_content",
)

# Each key as the desktop app's request form labels it. The wizard builds its labels
# from these and the gate's messages quote them, so a finding names the box a worker
# sees, never a key of the file (the command line adds the key in brackets).
FIELD_LABELS: Final = {
    "subjects": "People this is about",
    "statutory_function": "Statutory function",
    "statutory_function_other": "If other, which duty",
    "data_protection_basis": "Data-protection basis",
    "question": "The question this must answer",
    "safety_case": "Safety case",
    "ethics_case": "Ethics case",
    "balance": "Balance",
    "less_intrusive_considered": "Less intrusive routes tried or considered",
    "why_not_enough": "Why they are not enough",
    "proportionality": "How far the look will go",
    "intrusion_level": "Intrusion level",
    "collateral_intrusion": "Other people likely to be seen",
    "scope_hosts": "Sites to look at",
    "scope_urls": "Exact pages",
    "planned_viewings": "Planned viewings",
    "valid_until": "Valid until",
    "family_told": "Will the family be told?",
    "family_told_reason": "If no or later, why",
    "attest_logged_out": "I will view only what anyone can see without logging in",
    "attest_no_personal_or_fake_profile": "I will use no personal or fake profile",
    "attest_no_interaction": "I will not befriend, follow, like, comment on or message anyone",
    "attest_no_restricted_content": "I will not view anything limited to friends or followers",
    "emergency": "Immediate risk to a child (reviewed afterwards)",
    "emergency_reason": "Emergency reason",
}


def field_label(key: str) -> str:
    """The form's label for a key of the file, in quotes, to name it in a sentence."""
    return f"'{FIELD_LABELS.get(key, key)}'"


# Words and phrases that say *how* someone would look, or at whom, but name no concern:
# a question made only of these (and of grammar words, names and numbers) is vague,
# however long ("check Facebook", "see what is going on", "find out more"). The
# policy's stock phrases count too. Each is matched as whole words.
VAGUE_WORDS: Final = (
    # looking, in general
    "see what is going on",
    "what is going on",
    "find out more",
    "find out",
    "keep an eye on",
    "get a picture",
    "build a picture",
    "get a feel",
    "up to",
    "check",
    "checks",
    "checking",
    "look",
    "looking",
    "looks",
    "see",
    "seeing",
    "view",
    "viewing",
    "browse",
    "search",
    "searching",
    "research",
    "monitor",
    "monitoring",
    "observe",
    "review",
    "scan",
    "explore",
    "investigate",
    "learn",
    "know",
    "understand",
    "establish",
    "confirm",
    "gather",
    "gathering",
    "collect",
    "obtain",
    "get",
    "happening",
    "going",
    "happen",
    "happens",
    "lately",
    "recently",
    "currently",
    "now",
    "today",
    "moment",
    "time",
    "new",
    "latest",
    "recent",
    "last",
    "past",
    "day",
    "days",
    "week",
    "weeks",
    "month",
    "months",
    "year",
    "years",
    "particular",
    "particularly",
    "attention",
    "specific",
    "specifically",
    "overall",
    "generally",
    "usual",
    "normal",
    "routine",
    "ok",
    "okay",
    "fine",
    "quick",
    "quickly",
    "brief",
    "briefly",
    "simple",
    "run",
    "make",
    "carry",
    "undertake",
    "conduct",
    "complete",
    "part",
    "arise",
    "arises",
    # what would be looked at
    "facebook",
    "instagram",
    "tiktok",
    "twitter",
    "snapchat",
    "youtube",
    "whatsapp",
    "linkedin",
    "fb",
    "ig",
    "insta",
    "social",
    "media",
    "online",
    "internet",
    "web",
    "website",
    "websites",
    "site",
    "sites",
    "page",
    "pages",
    "profile",
    "profiles",
    "account",
    "accounts",
    "post",
    "posts",
    "posted",
    "posting",
    "postings",
    "photo",
    "photos",
    "picture",
    "pictures",
    "image",
    "images",
    "video",
    "videos",
    "content",
    "feed",
    "timeline",
    "public",
    "publicly",
    "open",
    "source",
    "presence",
    "footprint",
    "activity",
    "activities",
    "information",
    "info",
    "details",
    "data",
    "general",
    "background",
    "overview",
    "more",
    "further",
    "additional",
    "anything",
    "everything",
    "something",
    "things",
    "thing",
    "stuff",
    "whatever",
    "relevant",
    "useful",
    "interesting",
    "life",
    "lives",
    "lifestyle",
    "up",
    # whom, without saying why
    "family",
    "families",
    "parent",
    "parents",
    "mother",
    "mum",
    "father",
    "dad",
    "carer",
    "carers",
    "child",
    "children",
    "young",
    "person",
    "people",
    "subject",
    "subjects",
    "client",
    "service",
    "user",
    "household",
    "case",
    # a worry named only in general
    "concern",
    "concerns",
    "concerning",
    "worry",
    "worries",
    "issue",
    "issues",
    "risk",
    "risks",
    "safeguarding",
    "welfare",
    "wellbeing",
    "protection",
    "safety",
    "assessment",
    "purposes",
    "purpose",
    "reasons",
)

# Words that show a request speaks of criminal-offence data (UK GDPR Art 10): each
# matches the start of a word ("convict" matches "convicted", "convictions").
CRIMINAL_DATA_CUES: Final = (
    "conviction",
    "convicted",
    "offence",
    "offense",
    "offender",
    "offending",
    "criminal",
    "crime",
    "allegation",
    "alleged",
    "police",
    "arrest",
    "charged",
    "charges",
    "bail",
    "prosecut",
    "prison",
    "probation",
    "mappa",
    "clare s law",
    "dvds",
    "sarah s law",
    "sex offender",
    "registered sex",
)

# Words that name the DPA 2018 restriction or exemption relied on when the family is not
# told (UK GDPR Art 13/14 restricted under Art 23 by DPA 2018 Schedules 2 to 4).
RESTRICTION_CUES: Final = (
    "schedule",
    "sch 2",
    "sch 3",
    "sch 4",
    "sch2",
    "sch3",
    "exempt",
    "restrict",
    "dpa",
    "data protection act",
    "article 23",
    "art 23",
    "prejudic",
    "prevention or detection",
    "prevention and detection",
    "detection of crime",
    "prevention of crime",
    "apprehension or prosecution",
)

# Sites a worker may name when planning a look from an account ("my personal Instagram").
_PLATFORMS: Final = (
    "facebook",
    "instagram",
    "tiktok",
    "twitter",
    "snapchat",
    "linkedin",
    "youtube",
    "threads",
    "whatsapp",
)
# Someone else's account used to look is a personal profile too, and a login.
_BORROWED: Final = tuple(
    f"{verb} {owner} {thing}"
    # Not "via" or "from": "posts from a friend's account" are posts, not a way in.
    for verb in ("use", "using", "borrow", "borrowing")
    for owner in (
        "a colleague s",
        "my colleague s",
        "a friend s",
        "my friend s",
        "my partner s",
        "a relative s",
        "someone else s",
        "another worker s",
        "another person s",
    )
    for thing in ("account", "profile", "login", *_PLATFORMS)
)
# What is done to a person's posts when interacting with them.
_POSTS: Final = ("post", "posts", "photo", "photos", "picture", "pictures", "video", "videos")

# What the council protocols forbid, as a worker might write it in the plan of a look
# (its 'How far the look will go' answer), under the promise each breaks. Each is
# matched as whole words; a clause that also holds a negation ("I will not log in",
# "without a login") is a promise kept, not a plan.
FORBIDDEN_METHODS: Final = {
    "attest_logged_out": (
        "log in",
        "log into",
        "logged in",
        "logging in",
        "login",
        "sign in",
        "signed in",
        "signing in",
        "password",
        "her password",
    ),
    "attest_no_personal_or_fake_profile": (
        "fake profile",
        "fake profiles",
        "fake account",
        "fake accounts",
        "fake identity",
        "fake name",
        "dummy profile",
        "dummy account",
        "false profile",
        "false account",
        "false identity",
        "alias account",
        "alias profile",
        "covert account",
        "covert profile",
        "undercover",
        "sock puppet",
        "sockpuppet",
        *(
            f"{owner} {thing}"
            for owner in ("my own", "my personal", "my private")
            for thing in ("account", "profile", "login", *_PLATFORMS)
        ),
        *_BORROWED,
        # Not "create a profile": a plan may say it will not build a profile of a life.
        "create an account",
        "set up an account",
        "register an account",
        "sign up for an account",
    ),
    "attest_no_interaction": (
        "befriend",
        "befriending",
        "friend request",
        "friend requests",
        "follow request",
        "follow requests",
        "request to follow",
        "add her as a friend",
        "add him as a friend",
        "add them as a friend",
        "send her a message",
        "send him a message",
        "send them a message",
        "direct message",
        # Not "message her" or "comment on the post": plans name the messages and comments
        # they will record ("the message her partner posted").
        *(f"{verb} {whom}" for verb in ("messaging", "dm") for whom in ("her", "him", "them")),
        # "Follow her up" is casework, not following: follow a person only "on" a site
        # or follow their account, page or profile.
        *(
            f"{verb} {whose} {thing}"
            for verb in ("follow", "following", "subscribe to", "subscribing to")
            # Not "the" or "this": "following the page back to March" reads its posts.
            for whose in ("her", "his", "their")
            for thing in ("account", "profile", "page", "channel", *_PLATFORMS)
        ),
        *(
            f"{verb} {whom} on"
            for verb in ("follow", "following", "add", "adding")
            for whom in ("her", "him", "them")
        ),
        # Only a plan to like: "friends who like her photos", "photos like the one the
        # police hold" and "people commenting on her posts" describe others.
        *(
            f"{lead} like {whose} {thing}"
            for lead in ("will", "to")
            for whose in ("her", "his", "their")
            for thing in _POSTS
        ),
    ),
    "attest_no_restricted_content": (
        "closed group",
        "closed groups",
        "private group",
        "private groups",
        "secret group",
        "join the group",
        "join her group",
        "join his group",
        "join their group",
        "join a group",
        "friends only",
        "followers only",
        "private account",
        "private profile",
        "locked account",
        "locked profile",
        # Not "close friends" alone: a plan may say her close friends will be cropped out.
        "close friends list",
        "close friends story",
        "close friends stories",
        "close friends only",
        "private post",
        "private posts",
        "private story",
        "private stories",
        "private message",
        "private messages",
        "request to join",
        "ask to join",
    ),
}

# Words that turn a forbidden method into a promise not to use it, or into a condition
# ("if the profile is private, stop"); "t" is what is left of "won't", "can't" and
# "don't" once the apostrophe splits the word.
NEGATIONS: Final = frozenset(
    {"not", "no", "never", "without", "nor", "neither", "nothing", "none", "nobody"}
    | {"cannot", "t", "dont", "wont", "cant", "avoid", "avoiding", "refrain", "instead"}
    | {"if", "unless", "whether"}
)
