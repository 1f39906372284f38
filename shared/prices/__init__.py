"""Price sources behind the PriceSource port: built-in tariffs, the JSON feed, PSE's day-ahead RCE prices."""
