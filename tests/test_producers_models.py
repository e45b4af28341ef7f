"""Architectures: parameter counts, shapes at any input size, timm by name, checkpoints."""

import pytest

torch = pytest.importorskip("torch")

from producers.models import CifarResNet, LeNet5, build_model, count_parameters, load_checkpoint  # noqa: E402


def test_resnet_parameter_counts_match_the_paper():
    # He et al. (2016), Table 6: ResNet-20 0.27M, ResNet-56 0.85M (option-A shortcuts).
    r20 = count_parameters(build_model("resnet20", num_classes=10))
    r56 = count_parameters(build_model("resnet56", num_classes=10))
    assert r20 == 269_722
    assert r56 == 853_018
    assert round(r20 / 1e6, 2) == 0.27 and round(r56 / 1e6, 2) == 0.85


def test_resnet_counts_by_hand():
    # conv1 16*3*9 + bn 32; per stage n blocks of two 3x3 convs + two BNs; fc 64*C + C
    def expected(depth, c):
        n = (depth - 2) // 6
        total = 16 * 3 * 9 + 2 * 16
        in_planes = 16
        for planes in (16, 32, 64):
            for _ in range(n):
                total += in_planes * planes * 9 + planes * planes * 9 + 4 * planes
                in_planes = planes
        return total + 64 * c + c

    for depth in (20, 32, 44, 56, 110):
        assert count_parameters(CifarResNet(depth, 100)) == expected(depth, 100)


def test_shortcut_is_parameter_free_and_shapes_flow():
    m = build_model("resnet20", num_classes=7)
    out = m(torch.randn(2, 3, 32, 32))
    assert out.shape == (2, 7)
    assert all("shortcut" not in name for name, _ in m.named_parameters())


@pytest.mark.parametrize("depth", [18, 19, 4])
def test_resnet_depth_must_be_6n_plus_2(depth):
    with pytest.raises(ValueError, match="6n\\+2"):
        CifarResNet(depth)


@pytest.mark.parametrize("size", [8, 15, 16, 32, 40, 64])
def test_lenet5_any_input_size(size):
    m = LeNet5(num_classes=10)
    assert m(torch.randn(2, 3, size, size)).shape == (2, 10)


def test_lenet5_is_classic_at_32px():
    m = LeNet5(num_classes=10)
    # 3*6*25+6 + 6*16*25+16 + 400*120+120 + 120*84+84 + 84*10+10
    assert count_parameters(m) == 456 + 2416 + 48120 + 10164 + 850


def test_timm_model_by_name_and_checkpoint_roundtrip(tmp_path):
    m = build_model("timm:resnet10t", num_classes=5)
    assert m(torch.randn(2, 3, 32, 32)).shape == (2, 5)
    sd = {f"module.{k}": v for k, v in m.state_dict().items()}
    torch.save({"state_dict": sd}, tmp_path / "w.pt")
    m2 = build_model("resnet10t", num_classes=5, checkpoint=tmp_path / "w.pt")
    for (k, a), b in zip(m.state_dict().items(), m2.state_dict().values(), strict=True):
        assert torch.equal(a, b), k


def test_safetensors_checkpoint(tmp_path):
    from safetensors.torch import save_file

    m = build_model("lenet5", num_classes=3)
    save_file(m.state_dict(), str(tmp_path / "w.safetensors"))
    m2 = load_checkpoint(LeNet5(3), tmp_path / "w.safetensors")
    assert torch.equal(m.fc3.weight, m2.fc3.weight)


def test_unknown_architecture_and_missing_checkpoint(tmp_path):
    with pytest.raises(ValueError, match="unknown architecture 'nonsense_net'"):
        build_model("nonsense_net", num_classes=3)
    with pytest.raises(FileNotFoundError, match="checkpoint not found"):
        build_model("lenet5", num_classes=3, checkpoint=tmp_path / "nope.pt")
