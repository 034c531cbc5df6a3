"""mcdh export-pyhf: one model point's likelihood as a pyhf (HistFactory JSON) workspace."""
from __future__ import annotations

from ..settings import THETA_EPS_SCAN
from . import _options as opt


def register(sub) -> None:
    """Add ``mcdh export-pyhf`` and its options to the subcommands ``sub``."""
    p = sub.add_parser(
        "export-pyhf",
        help="one point's binned likelihood (phi and gamma-phi channels) as a pyhf workspace, validated by pyhf",
        description="The signal at the model's eps scaled by the normfactor mu = (eps / eps_model)^2, the background "
        "with its Monte Carlo error (staterror) and, with --bkg-syst, its normalisation uncertainty (normsys); the "
        "observations are the background-only expectation. The metadata (eps_ref, theta, model, luminosity, bin "
        "edges) go to OUTPUT's stem + .metadata.json. Needs the publish extra (pip install 'mcdh[publish]').",
    )
    opt.add_model(p, theta=(THETA_EPS_SCAN, f"Higgs mixing angle of the signal (default {THETA_EPS_SCAN:g})"))
    p.add_argument("--output", required=True, help="the workspace's JSON file")
    p.add_argument("--channels", type=opt.names, default=["phi", "gammaphi"], help="channels (default phi,gammaphi)")
    p.add_argument("--windows", action="store_true", help="each channel's optimised window as one bin (default: every bin)")
    p.add_argument("--pyhf-check", action="store_true",
                   help="ask pyhf for the expected CLs at mcdh's CLs limit (0.05 where the two agree; one hypothesis "
                   "test, seconds; pyhf's own limit scan takes minutes at ~100 parameters)")
    opt.add_nb(p)
    opt.add_lumi(p)
    opt.add_statistic(p, choice=False)  # the workspace's normsys; the statistic is CLs, pyhf's
    opt.add_region(p)
    opt.add_point_samples(p)
    opt.add_threads(p)
    opt.add_json(p)
    p.set_defaults(func=run)


def run(args) -> int:
    """Run ``mcdh export-pyhf`` with the parsed ``args``; returns the exit status."""
    from pathlib import Path

    from .._atomic import check_output
    from ..errors import require
    from ..study import Study

    pyhf = require("pyhf", "publish", "mcdh export-pyhf")
    check_output(Path(args.output))
    model = opt.model_from_args(args)
    study = Study(luminosity_fb=args.lumi_fb, n_b=args.nb, region=opt.region_arg(args.region), n_signal=args.events,
                  n_background=args.background_events, seed=args.seed, n_threads=opt.threads(args),
                  eps_ref=model.eps, background_uncertainty=args.bkg_syst, statistic="cls", smearing=args.smearing)
    ws = study.workspace(model, channels=args.channels, theta=model.theta, windows=args.windows)
    pyhf_ws = pyhf.Workspace(ws.spec)  # pyhf's schema and model: a workspace that does not build is not written
    pyhf_model = pyhf_ws.model()
    paths = ws.write(args.output)
    reach = {ch: study.eps_reach(model, channel=ch, theta=model.theta).eps for ch in ws.metadata["bins"]}
    summary = {"output": str(paths[0]), "metadata": str(paths[1]), "channels": list(ws.metadata["bins"]),
               "bins": {ch: len(c["samples"][0]["data"]) for ch, c in zip(ws.metadata["bins"], ws.spec["channels"])},
               "parameters": len(pyhf_model.config.suggested_init()), "eps_ref": model.eps, "theta": model.theta,
               "eps95_cls_per_channel": reach}
    if not args.windows:  # every bin: mcdh's CLs reach of all channels is the number pyhf gives on this file
        summary["eps95_cls"] = study.eps_reach(model, channel="combined", theta=model.theta).eps \
            if len(reach) > 1 else next(iter(reach.values()))
    if args.pyhf_check and "eps95_cls" in summary:
        mu = (summary["eps95_cls"] / model.eps) ** 2
        cls_exp = pyhf.infer.hypotest(mu, pyhf_ws.data(pyhf_model), pyhf_model, test_stat="qtilde",
                                      return_expected=True)[1]
        summary["pyhf_cls_expected_at_eps95"] = float(cls_exp)
    if args.json:
        print(opt.dumps(summary))
        return 0
    print(f"{summary['output']}: pyhf workspace, channels {', '.join(f'{c} ({n} bins)' for c, n in summary['bins'].items())}, "
          f"{summary['parameters']} parameters; mu = (eps / {model.eps:g})^2 at theta = {model.theta:g}")
    print(f"  metadata -> {summary['metadata']}")
    for ch, e in reach.items():
        print(f"  {ch}: mcdh's expected CLs reach eps95 = {e:.5g}")
    if "eps95_cls" in summary and len(reach) > 1:
        print(f"  combined: eps95 = {summary['eps95_cls']:.5g}")
    if "pyhf_cls_expected_at_eps95" in summary:
        print(f"  pyhf: expected CLs = {summary['pyhf_cls_expected_at_eps95']:.5f} at mu = "
              f"{(summary['eps95_cls'] / model.eps) ** 2:.5g} (0.05: the same limit)")
    return 0
