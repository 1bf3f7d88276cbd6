"""A small synthetic corpus for the embedded demo, written by the project itself.

Every note is invented from templates (no real patient data) and carries
metadata["synthetic"] = True. Framework-free: returns plain Documents.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from annotations.formats.document import Attribute, Document, Entity, Relation, Span

DRUGS = ["warfarin", "amoxicillin", "metformin", "lisinopril", "ibuprofen", "simvastatin", "clozapine", "digoxin"]
REACTIONS = ["gastrointestinal bleeding", "a maculopapular rash", "lactic acidosis", "angioedema",
             "acute kidney injury", "rhabdomyolysis", "agranulocytosis", "bradycardia"]
DOSES = ["5 mg daily", "500 mg three times daily", "850 mg twice daily", "10 mg once daily", "400 mg as needed"]

ANNOTATION_CONF = """[entities]
Drug
Adverse-Effect
Dose

[relations]
Adverse-Effect Arg1:Drug, Arg2:Adverse-Effect
Dose Arg1:Dose, Arg2:Drug
<OVERLAP> Arg1:Drug|Adverse-Effect|Dose, Arg2:Drug|Adverse-Effect|Dose, <OVL-TYPE>:<ANY>

[events]

[attributes]
Negation Arg:Adverse-Effect
Certainty Arg:Adverse-Effect, Value:certain|probable|possible
"""

VISUAL_CONF = """[labels]
Drug | Drug | Dr
Adverse-Effect | Adverse effect | AE
Dose | Dose | Do

[drawing]
Drug bgColor:#8fb8ff
Adverse-Effect bgColor:#ff9c8f
Dose bgColor:#c7e9a0
"""


class _Builder:
    def __init__(self) -> None:
        self.text = ""
        self.entities: list[Entity] = []

    def add(self, chunk: str) -> None:
        self.text += chunk

    def mention(self, kind: str, words: str) -> str:
        start = len(self.text)
        self.text += words
        ent = Entity(f"T{len(self.entities) + 1}", kind, (Span(start, len(self.text)),), words)
        self.entities.append(ent)
        return ent.id


def demo_documents(n_notes: int = 40, seed: int = 7) -> list[Document]:
    """`n_notes` synthetic discharge-style notes over a handful of patients, about half describing an ADE."""
    rng = random.Random(seed)
    start = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
    documents = []
    for i in range(n_notes):
        b = _Builder()
        drug, reaction, dose = rng.choice(DRUGS), rng.choice(REACTIONS), rng.choice(DOSES)
        relations: list[Relation] = []
        attributes: list[Attribute] = []
        b.add(f"SYNTHETIC NOTE {i + 1}. Admitted with worsening symptoms.\nMedications: ")
        d = b.mention("Drug", drug)
        b.add(" ")
        q = b.mention("Dose", dose)
        relations.append(Relation(f"R{len(relations) + 1}", "Dose", q, d))
        has_ade = i % 2 == 0
        if has_ade:
            b.add(f".\nOn day {rng.randint(2, 9)} the patient developed ")
            a = b.mention("Adverse-Effect", reaction)
            b.add(f", considered {rng.choice(['probably', 'possibly'])} caused by ")
            d2 = b.mention("Drug", drug)
            b.add("; it was stopped and symptoms resolved.\n")
            relations.append(Relation(f"R{len(relations) + 1}", "Adverse-Effect", d2, a))
            attributes.append(Attribute("A1", "Certainty", a, rng.choice(["probable", "possible"])))
        else:
            b.add(".\nNo rash, no bleeding; ")
            a = b.mention("Adverse-Effect", rng.choice(["no signs of " + reaction, "denies nausea"]).split()[-1])
            attributes.append(Attribute("A1", "Negation", a))
            b.add(" not present. Tolerating treatment well.\n")
        b.add("Plan: review in clinic in two weeks.\n")
        documents.append(
            Document(
                id=f"demo-{i + 1:03d}",
                text=b.text,
                entities=tuple(b.entities),
                relations=tuple(relations),
                attributes=tuple(attributes),
                label="ade" if has_ade else "no_ade",
                metadata={
                    "synthetic": True,
                    "patient": f"synthetic-patient-{i % 8 + 1}",
                    "timestamp": (start + timedelta(hours=12 * i)).isoformat(),
                    "note_type": "discharge summary",
                    "unit": rng.choice(["cardiology", "internal medicine", "geriatrics"]),
                    "author_role": rng.choice(["physician", "nurse"]),
                },
            )
        )
    return documents
