"""What a page a site serves in place of the real one says: its first line, and how much text it
has at most. The fetch judges HTML by it; the classifier judges a text from any source.
"""

from __future__ import annotations

import re

ERROR_HEADING = re.compile(
    r"^(?:error\s*)?(?:400|404|410|500|502|503)\b|page not found|^not found\b"
    r"|internal server error|service (?:temporarily )?unavailable|bad gateway"
    r"|this page (?:isn't|is not) available|something went wrong"
    r"|an (?:unexpected )?error (?:has )?occurred|page (?:does not|doesn't) exist"
    r"|could not be found|page unavailable|can't find (?:that|the|this) page|^oops\b"
)
ERROR_TEXT_MAX = 1500  # an error page says little
