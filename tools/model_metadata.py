"""Pieces of beamflow model metadata shared by the exporters
(export_forest.py, export_torch.py): file digests, the DataCite block and
writing metadata.json. See docs/models.md for the schema."""

import datetime
import hashlib
import json
import os


def sha256(path):
    """Hex SHA-256 of a file, read in 1 MiB blocks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def datacite(*, title, creators, description, version, derived_from=(), described_by=(), doi=None):
    """The DataCite-style block: creators default to $USER; training data goes
    in as IsDerivedFrom, papers as IsDescribedBy (DOI, or URL when it has ://)."""
    block = {
        "titles": [{"title": title}],
        "creators": [{"creatorName": c} for c in creators] or [{"creatorName": os.environ.get("USER", "unknown")}],
        "descriptions": [{"description": description, "descriptionType": "Abstract"}],
        "publicationYear": str(datetime.date.today().year),
        "resourceType": {"resourceTypeGeneral": "InteractiveResource"},
        "version": version,
    }
    if doi:
        block["identifier"] = {"identifier": doi, "identifierType": "DOI"}
    related = [{"relatedIdentifier": r, "relatedIdentifierType": "URL" if "://" in r else "DOI", "relationType": rel}
               for rel, values in (("IsDerivedFrom", derived_from), ("IsDescribedBy", described_by)) for r in values]
    if related:
        block["relatedIdentifiers"] = related
    return block


def write_metadata(out_dir, meta):
    """Writes OUT_DIR/metadata.json, ready for `beamflow model publish OUT_DIR`."""
    with open(os.path.join(out_dir, "metadata.json"), "w") as f:
        json.dump(meta, f, indent=1)
        f.write("\n")
