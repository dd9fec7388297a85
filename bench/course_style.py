"""A plain course-style process (pandas, a pickle, a LogisticRegression), for side-by-side timing.

This mirrors what the course's solutions do in ``fullprocess.py``: import everything up front,
compare the input folder's file list with ``ingestedfiles.txt``, re-read and concatenate every
CSV, drop duplicates, write ``finaldata.csv``, score the pickled model on the new data with F1,
and retrain + pickle + copy when the score dropped. Usage::

    python bench/course_style.py INPUT_DIR WORK_DIR TARGET ID_COLUMN
"""

from __future__ import annotations

import os
import pickle
import shutil
import sys
from pathlib import Path

import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score


def main(input_dir: str, work: str, target: str, id_column: str) -> None:
    os.makedirs(work, exist_ok=True)
    ingested_path = os.path.join(work, "ingestedfiles.txt")
    done = set(Path(ingested_path).read_text().split()) if os.path.exists(ingested_path) else set()
    files = sorted(f for f in os.listdir(input_dir) if f.endswith(".csv"))
    new = [f for f in files if f not in done]
    if not new:
        return  # nothing new
    frames = [pd.read_csv(os.path.join(input_dir, f)) for f in files]
    data = pd.concat(frames).drop_duplicates()
    data.to_csv(os.path.join(work, "finaldata.csv"), index=False)
    with open(ingested_path, "w") as out:
        out.write("\n".join(files))
    features = [
        c for c in data.columns if c not in (target, id_column) and data[c].dtype.kind in "if"
    ]
    model_path = os.path.join(work, "trainedmodel.pkl")
    score_path = os.path.join(work, "latestscore.txt")
    fresh = pd.concat([pd.read_csv(os.path.join(input_dir, f)) for f in new])
    if os.path.exists(model_path):
        with open(model_path, "rb") as fh:
            model = pickle.load(fh)
        score = f1_score(fresh[target], model.predict(fresh[features]))
        baseline = float(Path(score_path).read_text())
        if score >= baseline:
            return  # no drift: the course stops here
    model = LogisticRegression(C=1.0, random_state=0, max_iter=1000)
    model.fit(data[features], data[target])
    with open(model_path, "wb") as fh:
        pickle.dump(model, fh)
    with open(score_path, "w") as out:
        out.write(str(f1_score(fresh[target], model.predict(fresh[features]))))
    os.makedirs(os.path.join(work, "production"), exist_ok=True)
    for name in ("trainedmodel.pkl", "latestscore.txt", "ingestedfiles.txt"):
        shutil.copy(os.path.join(work, name), os.path.join(work, "production", name))


if __name__ == "__main__":
    main(*sys.argv[1:5])
