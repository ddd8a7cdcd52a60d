"""The four scenarios of transfer from a pretrained network, as a 2x2 chart.

Drawn by matplotlib's plot directive on the "Which strategy?" page; the advice is that of the
fine-tuning page's section "The four scenarios".
"""

import matplotlib.pyplot as plt

ADVICE = {
    ("little", "similar"): (
        "Frozen network, linear model",
        "CNNCodeExtractor(layer=-1)\n+ LogisticRegression,\nor FineTuneClassifier(\n"
        'freeze_depth="all")',
    ),
    ("much", "similar"): (
        "Fine-tune most layers",
        "FineTuneClassifier with a small\nfreeze_depth and lr_decay",
    ),
    ("little", "different"): (
        "Earlier layer, or stay close",
        "CNNCodeExtractor(layer=...) at an\nearlier layer, or FineTuneClassifier(\n"
        'regularization="l2sp" or "lwf")',
    ),
    ("much", "different"): (
        "Retrain nearly everything",
        "FineTuneClassifier with\nfreeze_depth down to 0,\na mild lr_decay",
    ),
}
COLOURS = {
    ("little", "similar"): "#dbe9f6",
    ("much", "similar"): "#c6dbef",
    ("little", "different"): "#fde0c5",
    ("much", "different"): "#fdd0a2",
}

fig, axes = plt.subplots(2, 2, figsize=(8, 6), sharex=True, sharey=True)
for row, domain in enumerate(["different", "similar"]):
    for column, data in enumerate(["little", "much"]):
        ax = axes[row, column]
        title, advice = ADVICE[data, domain]
        ax.set_facecolor(COLOURS[data, domain])
        ax.text(0.5, 0.78, title, ha="center", va="center", fontsize=12, weight="bold")
        ax.text(0.5, 0.38, advice, ha="center", va="center", fontsize=10, family="monospace")
        ax.set_xticks([])
        ax.set_yticks([])
        if row == 1:
            ax.set_xlabel(f"{data} labelled target data", fontsize=11)
        if column == 0:
            ax.set_ylabel(f"target domain {domain}\nto the network's images", fontsize=11)
fig.suptitle("Transfer from a pretrained network: the four scenarios", fontsize=13)
fig.tight_layout()
