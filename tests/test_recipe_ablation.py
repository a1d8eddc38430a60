"""The recipe-ablation table: one row per variant, in the order of VARIANTS, drops against clean."""

from __future__ import annotations

from benchmarks import recipe_ablation


def _cells(protector: str, psnr: float, top1: float, cosine: float) -> list[dict]:
    visual = {"key": {"protector": protector}, "kind": "visual", "values": {"psnr": psnr, "ssim": 0.99},
              "provenance": {}}
    identification = {"key": {"protector": protector, "evaluator": "sface"}, "kind": "identification",
                      "values": {"top1": top1, "same_image_cosine": cosine}, "failures": {}, "provenance": {}}
    return ([] if protector == "clean" else [visual]) + [identification]


def test_rows_follow_the_variant_order_and_show_drop_and_cosine():
    records = (_cells("nullswap-transposed", 41.3, 0.8, 0.9) + _cells("clean", 0, 1.0, 1.0)
               + _cells("nullswap-recipe", 41.4, 0.5, 0.7))
    frame = recipe_ablation.ablation_frame(records, ["sface"])
    text = recipe_ablation.markdown(frame, {"recipe": {"wall_time_s": 600}}, ["sface"], "title", "command")
    rows = [line for line in text.splitlines() if line.startswith("| ") and not line.startswith("| variant")]
    assert [row.split(" | ")[0] for row in rows[:3]] == ["| clean", "| recipe", "| transposed"]
    assert "0.500 (-50%)" in rows[1] and rows[1].endswith("| 10 |")
    assert rows[3:] == ["| recipe | 0.700 |", "| transposed | 0.900 |"]
