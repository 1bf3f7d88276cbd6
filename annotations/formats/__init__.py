"""Framework-free corpus formats (no Django): plain frozen dataclasses in and out.

- `document`, `schema`: the records (Document, Entity, ..., Schema, ...).
- `brat`: `.ann` / `.txt` parse and write; `brat_conf`: annotation.conf / visual.conf.
- `validation.document_problems`: the rule check every writer calls.
- `infer.schema_infer`: a Schema from data; `canonical`: id-free comparison.
- `archive`: safe directory / zip reading; `readers`, `writers`, `registry`: corpus I/O by format name.
"""
