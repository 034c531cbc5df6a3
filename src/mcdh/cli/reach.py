"""mcdh reach: the 95 % CL reach of one model point, each channel and their combination, without files."""
from __future__ import annotations

from ..settings import EPS_REF, THETA_EPS_SCAN, THETA_TABLE
from . import _options as opt


def register(sub) -> None:
    """Add ``mcdh reach`` and its options to the subcommands ``sub``."""
    p = sub.add_parser(
        "reach",
        help="95%% CL reach in eps (at theta) and the sensitive theta band (at eps) of one point: phi, gamma-phi, combined",
        description="Generates the point's samples (per-point seeds, as mcdh table and reproduce), and reports the "
        "eps reach at --theta and the theta band at --eps for the phi and gamma-phi channels and their combination "
        "(independent channels: -2 log L adds). A reach beyond the model's validity is reported as no sensitivity.",
    )
    opt.add_model(p, envelope=True, benchmark="B1",
                  eps=(EPS_REF, f"kinetic mixing of the theta band (default {EPS_REF:g})"),
                  theta=(THETA_EPS_SCAN, f"Higgs mixing of the eps reach (default {THETA_EPS_SCAN:g})"))
    opt.add_nb(p)
    opt.add_lumi(p)
    opt.add_statistic(p)
    opt.add_region(p)
    opt.add_point_samples(p)
    opt.add_threads(p)
    opt.add_json(p)
    p.set_defaults(func=run)


def run(args) -> int:
    """Run ``mcdh reach`` with the parsed ``args``; returns the exit status."""
    from ..channels import CHANNELS
    from ..study import COMBINED, Study

    study = Study(luminosity_fb=args.lumi_fb, n_b=args.nb, region=opt.region_arg(args.region), n_signal=args.events,
                  n_background=args.background_events, seed=args.seed, n_threads=opt.threads(args),
                  width_model=args.width_model, **opt.reach_args(args))
    # the point at the study's generation eps and the tables' theta, as a benchmark point (same samples, same numbers)
    model = opt.model_from_args(args).replace(eps=study.eps_ref, theta=THETA_TABLE)
    reach = study.reach(model, theta=args.theta)
    bands = {ch: study.theta_band(model, channel=ch, eps=args.eps) for ch in (*CHANNELS, COMBINED)}
    if args.json:
        print(opt.dumps({
            "benchmark": args.benchmark, "m_A": args.mA, "n_b": args.nb, "luminosity_fb": args.lumi_fb,
            "region": args.region, "seed": args.seed, "theta": args.theta, "eps": args.eps,
            "width_model": args.width_model, **opt.reach_record(study),
            **({"model": model.as_dict()} if _custom(args) else {}),
            "eps95": {ch: r.eps for ch, r in reach.items()},
            "eps95_note": {ch: r.note for ch, r in reach.items()},
            "theta_band": {ch: [b.lower, b.upper] for ch, b in bands.items()},
            "theta_band_note": {ch: b.note for ch, b in bands.items()},
            **({"eps95_width_envelope": {ch: [r.eps_lower, r.eps_upper] for ch, r in reach.items()},
                "theta_band_width_envelope": {ch: [b.lower_range, b.upper_range] for ch, b in bands.items()}}
               if args.width_model == "envelope" else {}),
        }))
        return 0
    point = (f"{args.benchmark}, m_A = {args.mA:g} GeV" if not _custom(args) else
             f"m_A = {model.m_A:g}, m_chi = {model.m_chi:g}, m_phi = {model.m_phi:g} GeV, g_chi = {model.g_chi:g}, "
             f"q_phi = {model.q_phi:g}")
    print(f"{point}, N_b = {args.nb:g} (at 10 ab^-1), {args.lumi_fb / 1e3:g} ab^-1, "
          f"region {args.region}, {args.width_model} widths{opt.reach_text(study)}")
    for ch in reach:
        b = bands[ch]
        band = (f"theta in [{_edge(b.lower, 'below range')}, {_edge(b.upper, 'above range')}]" if b.sensitive
                else f"no theta band ({b.reason})")
        print(f"  {ch:9s} {reach[ch]} at theta = {args.theta:g};  {band} at eps = {args.eps:g}")
        if b.sensitive and args.width_model == "envelope":
            print(f"  {'':9s} theta band edges over the width envelope: lower in {_range(b.lower_range)}, "
                  f"upper in {_range(b.upper_range)}")
    return 0


def _custom(args) -> bool:
    """Whether the point is not a plain benchmark point (then the model is printed and recorded in full)."""
    from ..physics.constants import ALPHA_EM, SQRT_S

    return (args.m_chi is not None or args.m_phi is not None or args.g_chi != 1.0 or args.q_phi != 1.0
            or args.alpha_em != ALPHA_EM or args.kinetic_mixing != "photon" or args.sqrt_s != SQRT_S)


def _range(r: list[float] | None) -> str:
    return "(unknown: beyond the scanned range)" if r is None else f"[{r[0]:.4g}, {r[1]:.4g}]"


def _edge(x: float | None, missing: str) -> str:
    return missing if x is None else f"{x:.4g}"
