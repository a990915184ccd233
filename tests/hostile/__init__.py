"""The hostile corpus: inputs built at test time that ctwatch must survive (issue 7, section 10)."""
