"""Data only: the regexes and word lists the classifier reads. No logic lives here: the words
a pattern's every match holds (`*_HOLD`) are read from the pattern by `monitor.regex_words`.

Every pattern is linear: no nested unbounded quantifiers over overlapping classes, so a long
line cannot make a match backtrack for long. Model names in prose are matched case-sensitively
as providers write them ("GPT-4o", "Claude 3 Opus"); ids are matched lower-case.
"""

from __future__ import annotations

import re

from monitor.regex_words import longest_match, words_every_match_holds

# --- dates ------------------------------------------------------------------------------------

MONTHS: dict[str, int] = {
    "january": 1, "february": 2, "march": 3, "april": 4, "may": 5, "june": 6, "july": 7,
    "august": 8, "september": 9, "october": 10, "november": 11, "december": 12,
    "jan": 1, "feb": 2, "mar": 3, "apr": 4, "jun": 6, "jul": 7, "aug": 8, "sep": 9, "sept": 9,
    "oct": 10, "nov": 11, "dec": 12,
}  # fmt: skip
_MONTH = (
    r"\b(?P<month>Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?"
    r"|Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)"
)
MONTH_NAME = _MONTH
# "June 13, 2024", "Jun 13 2024", "June 13th, 2024", "March 24th, 2026", "April, 30, 2025"
DATE_MDY = re.compile(
    _MONTH + r"\.?,?\s+(?P<day>\d{1,2})(?:st|nd|rd|th)?,?\s+(?P<year>[1-9]\d{3})(?!\d)",
    re.I,
)
# "13 June 2024", "27 Mar 2026" (also inside RFC 822 dates)
DATE_DMY = re.compile(
    r"\b(?P<day>\d{1,2})(?:st|nd|rd|th)?\s+" + _MONTH + r"\.?,?\s+(?P<year>[1-9]\d{3})(?!\d)",
    re.I,
)
# "2024-06-13", "2024/06/13"; a time may follow ("2026-03-27T04:35:46Z"). Any four-digit year:
# a mistyped one ("2525/06/06") is kept as written and flagged (see PLAUSIBLE_YEARS).
DATE_ISO = re.compile(
    r"(?<!\d)(?P<year>[1-9]\d{3})[-/](?P<month>\d{1,2})[-/](?P<day>\d{1,2})(?!\d)"
)
# "09/30/2026" (US), "30/09/2026": which number is the month is decided per date when one is
# above 12, else by the page's other dates (monitor/classify/dates.py), else flagged.
DATE_NUMERIC = re.compile(
    r"(?<![\d/.-])(?P<first>\d{1,2})/(?P<second>\d{1,2})/(?P<year>(?:19|20)\d{2})(?![\d/])"
)
PLAUSIBLE_YEARS = range(1990, 2101)
# "2026年4月27日"
DATE_JA = re.compile(
    r"(?P<year>(?:19|20)\d{2})\s*年\s*(?P<month>\d{1,2})\s*月\s*(?P<day>\d{1,2})\s*日"
)
DATE_PATTERNS = (DATE_ISO, DATE_MDY, DATE_DMY, DATE_JA)
TIME_OF_DAY = re.compile(r"\b\d{1,2}:\d{2}(?::\d{2})?(?:\s*(?:[AaPp]\.?[Mm]\.?|GMT|UTC|Z))?")

# Qualifiers kept as fields next to a date, looked for just before or just after it.
QUALIFIERS_BEFORE: dict[str, re.Pattern[str]] = {
    "not sooner than": re.compile(r"\b(?:not|no) sooner than\s*$", re.I),
    "no earlier than": re.compile(r"\b(?:not|no) earlier than\s*$", re.I),
    "not before": re.compile(r"\bnot before\s*$", re.I),
    "on or after": re.compile(r"\bon or after\s*$", re.I),
    "before": re.compile(r"\bbefore\s*$", re.I),
    "approximately": re.compile(r"\b(?:approximately|around|about|circa|~)\s*$", re.I),
    "以降": re.compile(r"以降\s*$"),
}
QUALIFIERS_AFTER: dict[str, re.Pattern[str]] = {
    "tentative": re.compile(
        r"^\W{0,3}(?:\(|\[)?\s*(?:tentative|tentatively|estimated|tbc)\b", re.I
    ),
    "(all regions)": re.compile(r"^\s*\(all regions\)", re.I),
    # "May 19, 2027 or later": the same floor as "no earlier than May 19, 2027"
    "no earlier than": re.compile(r"^\s*,?\s*or (?:later|after)\b", re.I),
    "region": re.compile(
        r"^\s*\((?P<region>[a-z]{2,}-[a-z]+\d?(?:,\s*[a-z]{2,}-[a-z]+\d?){0,5})\)"
    ),
    "以降": re.compile(r"^\s*(?:以降|より後)"),
    "予定": re.compile(r"^\s*(?:を)?(?:目途|予定)"),
}
TENTATIVE = re.compile(r"\b(?:tentative(?:ly)?|estimated|subject to change)\b|予定", re.I)

# --- version markers --------------------------------------------------------------------------

# A document's own version: "Version 3.1", "Version: 2", "v2.1", "Revision 4", "RSP v3.0"
VERSION_NUMBER = re.compile(
    r"\b(?:version|ver\.|revision|rev\.)\s*:?\s*v?(?P<value>\d+(?:\.\d+){0,3}[a-z]?)\b"
    r"|(?<![\w.-])v(?P<short>\d+(?:\.\d+){1,3})\b",
    re.I,
)
# Markers followed by a date: "Effective March 31, 2026", "Last updated: 2026-05-30"
MARKER_WORDS: dict[str, re.Pattern[str]] = {
    "effective": re.compile(
        r"\b(?:effective(?:\s+date)?|in effect (?:as of|from)|effective (?:as of|from|on))\s*:?\s*"
        r"|(?:発効日|施行日|適用開始日)\s*[:：]?\s*",
        re.I,
    ),
    "last updated": re.compile(
        r"\b(?:last\s+(?:updated|modified|revised|changed|reviewed)|updated(?:\s+on)?"
        r"|revised(?:\s+on)?|date of last revision|revision date|date (?:of )?revision"
        r"|(?:current|accurate|correct) as of)\s*:?\s*|(?:最終更新日?|更新日)\s*[:：]?\s*"
        # a front-matter key a docs site prints as the page's date ("ms.date: 05/19/2025")
        r"|(?-i:^(?:[a-z]+\.date|(?:[a-z]+\.)?(?:date|updated|lastmod|last_modified(?:_at)?))\s*:\s*)",
        re.I,
    ),
    "published": re.compile(
        r"\b(?:published|publication date|date of publication|release date)(?:\s+on)?\s*:?\s*",
        re.I,
    ),
    "build": re.compile(
        r"<(?:lastBuildDate|updated)>\s*|\"(?:last_?updated|generated_at)\"\s*:\s*\"?"
    ),
}
# A front-matter key that carries the page's own date, which a docs site prints under the title
FRONT_MATTER_DATE = re.compile(
    r"^(?:[a-z]+\.date|(?:[a-z]+\.)?(?:date|updated|lastmod|last_modified(?:_at)?))\s*:\s*\S"
)
# A month and year, or a whole date, written after a version number: "Version 2.2 (October 2025)"
VERSION_DATED = re.compile(
    r"\s*[(,·|–—-]?\s*(?:"
    + _MONTH
    + r"\.?(?:\s+\d{1,2}(?:st|nd|rd|th)?,?)?\s+[1-9]\d{3}|\d{4}-\d{2}(?:-\d{2})?)\)?",
    re.I,
)
# How far after a marker word its date may start (characters).
MARKER_REACH = 40
# "Updated: 5 days ago", "Updated 10 hours ago"
RELATIVE_AGE = re.compile(
    r"\b(?P<n>\d+|an?|one)\s+(?P<unit>second|minute|hour|day|week|month|year)s?\s+ago\b", re.I
)
AGE_UNITS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400, "week": 604800,
             "month": 2629800, "year": 31557600}  # fmt: skip

# --- lifecycle words --------------------------------------------------------------------------

# What a retirement verb retires when it names no model id: a product or API surface written as
# a name ("we are sunsetting the Assistants API", "we will discontinue Sable Video")
RETIRED_NAME = re.compile(
    r"\b(?:sunsett?ing|deprecating|retiring|discontinuing|shutting down|winding down"
    r"|(?:will|to) (?:sunset|deprecate|retire|discontinue|shut down))\s+(?:the\s+)?"
    r"(?P<name>(?:[A-Z][\w.-]*\s+){0,3}[A-Z][\w.-]*)"
)
# A shutdown told by its effect, a retirement only with a date beside it: "Starting January 5,
# 2026, requests to X will return an error" (not "requests to X will fail if too long")
SHUTDOWN_EFFECT = re.compile(
    r"requests? to [^.;]{1,60}? will (?:fail|return an error|be rejected)", re.I
)
# A retirement said not to happen: "we have no plans to deprecate gpt-4o", "will not be retired"
NOT_RETIRING = re.compile(
    r"\b(?:no (?:current )?plans? to|not (?:planning|going) to|(?:will|would|shall|does|do|is|are)"
    r"\s*n[o']t(?:\s+be)?|won't(?:\s+be)?|never(?:\s+be)?)\s+(?:\w+\s+){0,2}?"
    r"(?:deprecat|retir|sunset|shut\w*\s+down|discontinu|decommission|remov|phase\w*\s+out)",
    re.I,
)
RETIRE_WORDS = re.compile(
    r"\b(?:deprecat\w*|retir(?:e|ed|es|ing|ement|ements)\b|sunset\w*|shut(?:s|ting)?\s+down"
    r"|shutdown|discontinu\w*|decommission\w*|end[- ]of[- ](?:life|support)|phas(?:e|ed|ing)\s+out"
    r"|no longer (?:be )?(?:available|accessible|supported|served|serve|offered)"
    r"|(?:will be|been|are|is) removed from|removal from|turn(?:ed|ing)? off"
    r"|stop(?:s|ped)? working|will stop (?:being )?(?:available|served|supported|responding)"
    r"|\bEOL\b|requests? to [^.;]{1,60}? will (?:fail|return an error|be rejected))"
    r"|廃止|提供終了|提供を終了|終了予定|非推奨|引退|利用できなくな|サポート終了",
    re.I,
)
# Every match of RETIRE_WORDS holds one of these (lower case): see LAUNCH_WORDS_HOLD.
RETIRE_WORDS_HOLD = words_every_match_holds(RETIRE_WORDS)
# Words that say the retirement already happened (else it is announced for later).
RETIRED_NOW = re.compile(
    r"\b(?:we(?:'|’)ve retired|we have retired|(?:has|have|had) been (?:retired|shut ?down|removed"
    r"|discontinued|turned off)|(?:is|are|was|were) (?:now )?(?:retired|shut down|discontinued)"
    r"|no longer (?:available|accessible|served)|retired on|were retired|was retired)\b"
    r"|提供を終了しました|廃止されました|廃止しました|終了しました",
    re.I,
)
FUTURE_WORDS = re.compile(
    r"\b(?:will|scheduled|upcoming|plan(?:s|ned)? to|going to|deprecated|deprecation)\b"
    r"|予定|します",
    re.I,
)
LAUNCH_WORDS = re.compile(
    r"\b(?:launch(?:ed|es|ing)?|introduc(?:e|ed|es|ing)|now (?:generally )?available"
    r"|(?:is|are) (?:now )?available|generally available|released|new model|available in preview"
    r"|available in Model Garden)\b|提供開始|リリース",
    re.I,
)
# Every match of LAUNCH_WORDS holds one of these (lower case): a text without any of them
# (compared as IGNORECASE compares, `text.holds_any`) needs no search. Read from the pattern,
# so they cannot fall out of step with it.
LAUNCH_WORDS_HOLD = words_every_match_holds(LAUNCH_WORDS)
REPLACEMENT_WORDS = re.compile(
    r"\b(?:recommend(?:s|ed)? (?:\w+ )?(?:upgrading|migrating|moving|switching|transitioning)"
    r"|(?:migrate|upgrade|move|switch|transition|redirect)\w* (?:\w+ ){0,3}to"
    r"|replac(?:ed|ement)(?: by| with|:)?"
    r"|use (?:either )?|in favou?r of|successor)",
    re.I,
)
INSTEAD = re.compile(r"\binstead\b|への移行|に移行|をご利用", re.I)
LIFECYCLE_STATES: dict[str, str] = {
    "active": "active", "ga": "active", "generally available": "active", "available": "active",
    "stable": "active", "preview": "active", "legacy": "legacy", "deprecated": "deprecated",
    "deprecation": "deprecated", "retiring": "deprecated", "sunset": "deprecated",
    "retired": "retired", "shut down": "retired", "shutdown": "retired", "discontinued": "retired",
    "removed": "retired", "非推奨": "deprecated", "廃止予定": "deprecated", "提供終了": "retired",
    "廃止": "retired",
}  # fmt: skip
STATE_RANK = {"active": 0, "legacy": 1, "deprecated": 2, "retired": 3}

# Where a model is (or stops being) served.
SURFACES: dict[str, re.Pattern[str]] = {
    "chatgpt": re.compile(r"\bChatGPT\b"),
    "azure": re.compile(r"\b(?:Azure|Microsoft Foundry|Foundry)\b"),
    "bedrock": re.compile(r"\b(?:Bedrock|AWS)\b"),
    "vertex": re.compile(r"\b(?:Vertex(?: AI)?|Model Garden|Agent Platform|Google Cloud)\b"),
    "api": re.compile(r"\bAPI\b|\bAPI\s*(?:では|で|の)"),
}
# "the API continues", "no changes to the API", "remain available in the API"
API_CONTINUES = re.compile(
    r"\bno (?:API )?changes? (?:to|in|for) the API\b|\bno changes? in the API\b"
    r"|\bin the API, there are no changes"
    r"|\b(?:remains?|continues?|still|will (?:continue|remain))\b[^.]{0,40}\bavailable"
    r"\b[^.]{0,20}\b(?:in|via|through|on) (?:the|our) API\b"
    r"|\bAPI (?:access )?(?:is|are|remains?) (?:not affected|unaffected|unchanged)"
    r"|API[^。]{0,20}(?:引き続き|変更はありません|影響はありません)",
    re.I,
)
# Every match of API_CONTINUES holds one of these (lower case; see LAUNCH_WORDS_HOLD) and is
# at most API_CONTINUES_WIDTH characters long.
API_CONTINUES_HOLD = words_every_match_holds(API_CONTINUES)
API_CONTINUES_WIDTH = longest_match(API_CONTINUES)

# --- model ids and names ----------------------------------------------------------------------

# A lower-case id with at least one separator: "gpt-4o", "claude-3-opus-20240229",
# "gemini-1.5-pro-002", "xai/grok-4.1-fast-reasoning", "anthropic.claude-3-haiku-20240307-v1:0"
MODEL_ID = re.compile(r"(?<![\w.:/@-])(?P<id>[a-z][a-z0-9]*(?:[-.:@/][a-z0-9]+)+)(?![\w@-])")
# OpenAI's short o-series ids: "o1", "o3-mini", "o1-preview"
O_SERIES = re.compile(r"(?<![\w.-])(?P<id>o[1-9](?:-(?:mini|pro|preview|deep-research|high))*)\b")
# Which ids are model ids: the family prefix → the provider that makes the model.
MODEL_FAMILIES: dict[str, str] = {
    "gpt-": "openai", "chatgpt-": "openai", "o1": "openai", "o3": "openai", "o4": "openai",
    "text-davinci": "openai", "text-curie": "openai", "text-babbage": "openai",
    "text-ada": "openai", "text-embedding": "openai", "davinci-": "openai", "babbage-": "openai",
    "code-davinci": "openai", "dall-e": "openai", "whisper-": "openai", "tts-": "openai",
    "sora-": "openai", "codex-": "openai", "omni-moderation": "openai", "computer-use": "openai",
    "claude-": "anthropic", "anthropic.claude": "anthropic",
    "gemini-": "google", "gemma-": "google", "imagen-": "google", "veo-": "google",
    "text-bison": "google", "chat-bison": "google", "text-embedding-0": "google",
    "llama-": "meta", "llama3": "meta", "meta-llama": "meta", "meta.llama": "meta",
    "mistral-": "mistral", "mixtral-": "mistral", "codestral-": "mistral", "pixtral-": "mistral",
    "ministral-": "mistral", "magistral-": "mistral", "devstral-": "mistral",
    "open-mistral": "mistral", "open-mixtral": "mistral", "mistral.": "mistral",
    "grok-": "xai", "xai/": "xai", "deepseek-": "deepseek", "qwen": "alibaba", "qwq-": "alibaba",
    "glm-": "zhipu", "kimi-": "moonshot", "minimax-": "minimax", "nova-": "amazon",
    "amazon.": "amazon", "titan-": "amazon", "command-": "cohere", "cohere.": "cohere",
    "jamba-": "ai21", "ai21.": "ai21", "phi-": "microsoft", "gpt-oss": "openai",
    "multilingual-e5": "microsoft", "stable-": "stability", "stability.": "stability",
}  # fmt: skip
# Ids that match the shape but are not models.
NOT_MODELS = re.compile(
    r"-beta$|header|api-key|-(?:api|sdk|cli|app)$|^[a-z]+-\d{4}-\d{2}-\d{2}$"
    r"|^command-line$"  # the English compound, not a Cohere "command-" model
)
# Families whose ids always carry a digit; without one the word names a product.
NEEDS_DIGIT = ("claude-", "gemini-", "gpt-", "chatgpt-")
# Hosting prefixes in front of a maker's id: "xai/grok-4", "anthropic.claude-3-haiku…"
ID_PREFIX = re.compile(r"^(?:[a-z]+/|(?:anthropic|meta|amazon|mistral|cohere|ai21)\.)")

# Prose names, written as providers write them. Each pattern has named groups the normaliser
# reads; see monitor/classify/names.py for how each becomes an id.
PROSE_NAMES: dict[str, re.Pattern[str]] = {
    "claude": re.compile(
        r"\bClaude\s+(?:(?P<ver1>\d(?:\.\d)?)\s+(?P<fam1>Opus|Sonnet|Haiku|Instant)"
        r"|(?P<fam2>Opus|Sonnet|Haiku|Fable|Mythos|Instant)\s+(?P<ver2>\d(?:\.\d)?)"
        r"|(?P<ver3>[12](?:\.\d)?)\b|(?P<fam4>Opus|Sonnet|Haiku|Fable|Mythos)\s+Preview\b)"
        r"(?:\s+(?P<suffix>v\d)\b)?"
    ),
    "gpt": re.compile(
        r"\bGPT-(?P<ver>\d(?:\.\d)?o?)(?:[- ](?P<size>mini|nano|Turbo|turbo|Pro|pro|Instant"
        r"|Thinking))?\b"
    ),
    "o_series": re.compile(r"\bOpenAI\s+(?P<id>o[1-9](?:-(?:mini|pro|preview))?)\b"),
    "gemini": re.compile(
        r"\bGemini\s+(?P<ver>\d(?:\.\d)?)\s+(?P<fam>(?:Pro|Flash|Ultra|Nano)(?:[- ](?:Lite|Image"
        r"|Live|Preview|Experimental|Thinking|TTS|Native Audio))*)"
    ),
    # A list that carries its family word once: "Claude Sonnet 4 (deprecated), Opus 4, and …"
    "claude_more": re.compile(
        r"\s*(?:\((?:[^()]|\([^()]*\))*\))?\s*(?:,|and|or|&)\s*(?:(?:and|or)\s+)?"
        r"(?P<fam2>Opus|Sonnet|Haiku|Fable|Mythos)\s+(?P<ver2>\d(?:\.\d)?)\b"
    ),
    "gemini_more": re.compile(
        r"\s*(?:,|and|or|&)\s+(?:Gemini\s+)?(?P<ver>\d(?:\.\d)?)\s+(?P<fam>(?:Pro|Flash|Ultra|Nano)"
        r"(?:[- ](?:Lite|Image|Live|Preview|Experimental|Thinking|TTS))*)"
    ),
    "llama": re.compile(
        r"\bLlama\s+(?P<ver>\d(?:\.\d)?)(?:\s+(?P<size>\d+B))?(?:\s+(?P<kind>Instruct|Vision))?"
    ),
    "mistral": re.compile(
        r"\b(?P<fam>Mistral|Mixtral|Codestral|Pixtral|Ministral|Magistral|Devstral)"
        r"\s+(?P<size>Large|Medium|Small|Tiny|Nemo|Saba|8x7B|8x22B)(?:\s+(?P<ver>\d+(?:\.\d+)?))?"
    ),
    "grok": re.compile(r"\bGrok\s+(?P<ver>\d(?:\.\d)?)(?:\s+(?P<size>Fast|Mini|Code|Heavy))?\b"),
    "nova": re.compile(
        r"\b(?:Amazon\s+)?Nova\s+(?:(?P<ver>\d)\s+)?(?P<size>Premier|Pro|Lite|Micro|Sonic|Canvas"
        r"|Reel)\b"
    ),
    "deepseek": re.compile(r"\bDeepSeek[- ](?P<ver>[RV]\d(?:\.\d)?)\b"),
}
PROSE_PROVIDER = {
    "claude": "anthropic", "gpt": "openai", "o_series": "openai", "gemini": "google",
    "gemini_more": "google", "claude_more": "anthropic", "llama": "meta", "mistral": "mistral", "grok": "xai",
    "nova": "amazon", "deepseek": "deepseek",
}  # fmt: skip

# --- tables -----------------------------------------------------------------------------------

# Header cell → the role of its column. A header naming models ("Deprecated model",
# "Discontinued endpoints") is the model column even when it holds a lifecycle word; a header
# naming a date ("Retirement date") is a date column.
COLUMN_REPLACEMENT = re.compile(
    r"replace|recommend|migrat|upgrade|successor|alternative|代替|移行先", re.I
)
COLUMN_DATE = re.compile(r"date|\bday\b|\bon\b|日|^(?:deprecated|shutdown|retired|eol)$", re.I)
COLUMN_MODEL = re.compile(r"model|endpoint|\bname\b|\bid\b|system|モデル", re.I)
# A column naming who makes the model ("Model provider", "Vendor"): not the model's own name.
COLUMN_PROVIDER = re.compile(
    r"^\W*(?:model\s+)?(?:provider|vendor|publisher|developer|maker|creator|company)s?\W*$", re.I
)
COLUMN_ROLES: dict[str, re.Pattern[str]] = {
    "shutdown": re.compile(
        r"shut\s*down|retire|sunset|discontinu|end[- ]of|\beol\b|removal|turn[- ]off|終了|廃止",
        re.I,
    ),
    "deprecated": re.compile(r"deprecat|announce|notice|legacy|非推奨", re.I),
    "status": re.compile(r"status|state|stage|lifecycle|ステータス|状態", re.I),
    "released": re.compile(r"releas|launch|availab|introduc|提供開始", re.I),
    "version": re.compile(r"^(?:model\s+)?(?:version|ver\.?|snapshot)$|バージョン", re.I),
}
# A retirement column of training only ("Training retirement date"): new fine-tuning stops, what
# was trained keeps serving, like a deprecation; the deployment's column is the shutdown.
COLUMN_TRAINING_ONLY = re.compile(r"\btraining\b|fine[- ]?tun", re.I)
# A cell that can name a model a recogniser does not know: a short name ("Sable Video",
# "Mathstral 7B") or an id of any family ("nimbus-large-v1"); not a sentence, a date or a mark.
MODEL_CELL = re.compile(r"^[A-Za-z][\w.:/@ -]{1,59}$")
# An id-shaped token of any family next to retirement words: "quill-lite-2", "text-moderation-007"
# (a letter first, a separator, and a digit somewhere).
# Possessive: a token is taken whole or not at all (no backtracking over long tokens); the digit
# and the separator are checked by the code that reads it.
UNKNOWN_ID = re.compile(
    r"(?<![\w.:/@-])(?P<id>[a-z][a-z0-9]*+(?:[-.:@][a-z0-9]++)++)(?![\w@/-]|\.\w)"
)
NOT_UNKNOWN_IDS = re.compile(r"^(?:v\d|utf-|iso-|rfc-|sha-|x-|h\d|mp\d|tls|http)", re.I)
# cloud regions ("us-east-1", "europe-west4", "asia-northeast1"): places, not models
REGION_ID = re.compile(
    r"^(?:[a-z]{2}|europe|asia|africa|australia|northamerica|southamerica|me)-"
    r"(?:north|south|east|west|central|northeast|southeast|northwest|southwest)\d?(?:-\d)?$"
)
SEPARATOR_ROW = re.compile(r"^\|?[\s:|-]*-[\s:|-]*\|?$")

# --- noise and cosmetics ----------------------------------------------------------------------

# Tokens that change on every request and mean nothing: masked before any comparison.
VOLATILE: tuple[re.Pattern[str], ...] = (
    re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b", re.I),
    re.compile(
        r"(?<![\w-])(?=[0-9a-f]{0,127}\d)(?=[0-9a-f]{0,127}[a-f])[0-9a-f]{16,128}(?![\w-])", re.I
    ),
    re.compile(
        r"(?<=[?&;])(?:v|ver|_|cb|cachebust(?:er)?|ts|t|nonce|sig|signature|token|hash|rev|build"
        r"|utm_[a-z]+|gclid|fbclid|mc_[a-z]+|_ga|_gl)=[^&\s)\]\"'#]*",
        re.I,
    ),
    re.compile(
        r"\b(?:request|trace|correlation|session|ray)[ _-]?id\s*[:=#]\s*[\w-]{6,}"
        r"|\b(?:nonce|csrf(?:[-_]token)?)\s*[:=]\s*[\w+/=-]{6,}",
        re.I,
    ),
)
LONG_TOKEN = re.compile(r"(?<![\w-])[A-Za-z0-9_-]{24,200}(?![\w-])")
# Scraper metadata: its change is cosmetic, never substantive.
SCRAPER_FIELDS = re.compile(r"^\W*(?:fetched_at|scraped_at|crawled_at|retrieved_at)\W", re.I)
# Words whose insertion or removal alone does not change meaning.
FILLER_WORDS = frozenset(
    "a an the usd eur gbp jpy us$ please also just simply currently approximately".split()
)
# Words that carry no content of their own: swapping one for another in a model's description
# ("Learn more on our blog" → "in our blog") is a copy edit.
FUNCTION_WORDS = frozenset(
    "a an the on in at of for to into onto from by with within via our its their".split()
)
# Words that join the names of a list ("A, B and C", "including D").
LIST_WORDS = frozenset("and or including incl also as well".split())
# A line that starts with two or more short links in a row: "[All Collections](…)[Safeguards](…)"
BREADCRUMBS = re.compile(r"^\s*(?:\[[^\[\]\n]{1,40}+\]\([^()\s]{1,300}+\)\s*[/>›»|]?\s*){2,}")

# --- policy evidence ----------------------------------------------------------------------------

# Words that make a policy change weigh more in the significance score.
KEY_TERMS = re.compile(
    r"\b(?:must|shall|prohibit\w*|not (?:allowed|permitted)|may not|required?|threshold\w*"
    r"|capabilit\w*|safeguard\w*|risk\w*|evaluat\w*|deploy\w*|commit\w*|effective|version"
    r"|deprecat\w*|retir\w*|shut\w*|replac\w*|price|pricing|\$\d)",
    re.I,
)
SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"'“(\[*`_])|(?<=。)")
