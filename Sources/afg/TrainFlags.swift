import Classifier

/// The code path one run of `afg train` takes, as far as the options decide it: which
/// method, on which solver, in which mode, with which inputs. `validate()` refuses every
/// flag the path does not read (`TrainFlagRules`), so a flag either changes what the run
/// does or is refused with one line.
struct TrainPath: CustomStringConvertible {
    enum Mode { case plain, rounds, select }
    var method: Method, solver: SolverOptions.Solver, mode: Mode
    /// `--teacher` and `--val` given.
    var teacher: Bool, val: Bool
    /// `C` cross-validated (lbfgs: `--C auto`, the default with `--val`, and always for
    /// logit-adjust); a Tukey transform may apply (not `--no-tukey`).
    var cAuto: Bool, transform: Bool
    var noKd: Bool, noAdaptive: Bool, kdTeacher: TeacherKind
    var blend: Double
    /// Generation epochs (SGD) or rounds (`--rounds`): β moves after the second and acts
    /// from the third on.
    var generations: Int

    var lbfgs: Bool { solver == .lbfgs }
    var sgd: Bool { solver == .sgd }
    /// lws, tau-norm, logit-adjust on the SGD path: post-processing of a head.
    var postHoc: Bool { sgd && [.lws, .tauNorm, .logitAdjust].contains(method) }
    /// An SGD optimiser runs over the training rows (a post-hoc method with a teacher only
    /// post-processes it; lws trains its scales).
    var sgdTraining: Bool { sgd && !(postHoc && teacher) }
    /// The epochs / batches / momentum loop runs (lws's scales included).
    var epochLoop: Bool { sgdTraining || (method == .lws && sgd) }
    /// A generator runs.
    var generates: Bool { (sgd && [.glag, .tailcalib].contains(method)) || (lbfgs && method == .glag) }
    /// The classifier is refitted on every labelled row after cross-validation: no
    /// validation row is left held out.
    var crossValidates: Bool {
        lbfgs && (mode == .select || [.logitAdjust, .balancedSoftmax].contains(method) || (mode == .plain && cAuto))
    }
    /// GLAG's KD term runs.
    var kd: Bool {
        guard method == .glag, !noKd else { return false }
        if sgd { return teacher || mode == .select }
        return mode == .rounds && kdTeacher != .none && (kdTeacher != .stageOne || teacher)
    }
    /// β adapts from validation accuracy.
    var adaptive: Bool { method == .glag && val && (sgd || mode == .rounds) && generations >= 3 }
    /// Randomness enters the fit (shuffles, folds, generation).
    var random: Bool {
        if sgd { return !(teacher && [.tauNorm, .logitAdjust].contains(method)) }
        return cAuto || crossValidates || method == .glag
    }

    var description: String {
        "--method \(method.rawValue) --solver \(solver.rawValue)" + (mode == .rounds ? " --rounds" : mode == .select ? " --select-on-val" : "")
    }
}

/// Which paths read which flags. Each rule names its flags, the paths that read them and,
/// for the refusal, where they belong.
enum TrainFlagRules {
    struct Rule {
        var flags: [String]
        var belongsTo: String
        var applies: (TrainPath) -> Bool
    }

    static let rules: [Rule] = [
        Rule(flags: ["--epochs", "--batch-size", "--momentum"], belongsTo: "--solver sgd training (and lws's scales)") { $0.epochLoop },
        Rule(flags: ["--lr", "--weight-decay"], belongsTo: "--solver sgd training (not lws's scales or a post-processed --teacher)") { $0.sgdTraining },
        Rule(flags: ["--lws-lr"], belongsTo: "--method lws") { $0.sgd && $0.method == .lws },
        Rule(flags: ["--epoch-rows"], belongsTo: "--solver sgd with glag or tailcalib (not --select-on-val)") {
            $0.sgd && [.glag, .tailcalib].contains($0.method) && $0.mode != .select
        },
        Rule(flags: ["--checkpoint-every", "--resume"], belongsTo: "a single --solver sgd training") { $0.epochLoop && $0.mode != .select },
        Rule(flags: ["--k", "--alpha", "--head-threshold", "--target-per-class"], belongsTo: "the generator (glag, tailcalib)") { $0.generates },
        Rule(flags: ["--initial-beta"], belongsTo: "glag's generator (--solver sgd --select-on-val chooses it)") {
            $0.generates && $0.method == .glag && !($0.sgd && $0.mode == .select)
        },
        Rule(flags: ["--mean-mode"], belongsTo: "glag's generator (tailcalib uses the TailCalib mean)") { $0.generates && $0.method == .glag },
        Rule(flags: ["--kd-max", "--kd-temperature", "--kd-gamma"], belongsTo: "glag's KD term (a --teacher on the SGD path; --rounds with a KD teacher)") { $0.kd },
        Rule(flags: ["--no-kd"], belongsTo: "glag with a KD term (a --teacher on the SGD path; --rounds)") {
            $0.method == .glag && (($0.sgd && $0.teacher && $0.mode != .select) || ($0.mode == .rounds && $0.kdTeacher != .none))
        },
        Rule(flags: ["--no-adaptive"], belongsTo: "glag's adaptive β (with --val, on the SGD path or --rounds, 3 epochs or rounds or more)") { $0.adaptive },
        Rule(flags: ["--beta-rule", "--beta-step"], belongsTo: "glag's adaptive β (with --val, on the SGD path or --rounds, 3 epochs or rounds or more)") {
            $0.adaptive && !$0.noAdaptive
        },
        Rule(flags: ["--kd-teacher"], belongsTo: "--method glag --solver lbfgs --rounds") { $0.lbfgs && $0.mode == .rounds },
        Rule(flags: ["--init"], belongsTo: "--method glag --solver lbfgs --rounds with a KD teacher") {
            $0.lbfgs && $0.mode == .rounds && $0.kdTeacher != .none
        },
        Rule(flags: ["--rounds"], belongsTo: "--method glag --solver lbfgs without --select-on-val") { $0.lbfgs && $0.method == .glag && $0.mode != .select },
        Rule(flags: ["--C"], belongsTo: "--solver lbfgs (not --select-on-val, which cross-validates C) and the balanced teacher of --solver sgd --select-on-val") {
            ($0.lbfgs && $0.mode != .select) || ($0.sgd && $0.mode == .select)
        },
        Rule(flags: ["--tolerance"], belongsTo: "--solver lbfgs") { $0.lbfgs },
        Rule(flags: ["--blend"], belongsTo: "--method glag --solver lbfgs without --rounds") { $0.lbfgs && $0.method == .glag && $0.mode != .rounds },
        Rule(flags: ["--c-divisor"], belongsTo: "--method glag --solver lbfgs with C cross-validated (--C auto, --select-on-val)") {
            $0.lbfgs && $0.method == .glag && ($0.mode == .select || ($0.mode == .plain && $0.cAuto))
        },
        Rule(flags: ["--single-head"], belongsTo: "--method glag --solver lbfgs without --rounds, on Tukey-transformed features with --blend below 1") {
            $0.lbfgs && $0.method == .glag && $0.mode != .rounds && $0.transform && $0.blend < 1
        },
        Rule(flags: ["--select-on-val"], belongsTo: "--method glag") { $0.method == .glag },
        Rule(flags: ["--no-memory-head"], belongsTo: "--method glag --solver lbfgs --select-on-val") { $0.lbfgs && $0.method == .glag && $0.mode == .select },
        Rule(flags: ["--teacher"], belongsTo: "glag's KD and start on the SGD path, lws / tau-norm / logit-adjust on the SGD path, and --rounds --kd-teacher stage-one") {
            ($0.sgd && [.glag, .lws, .tauNorm, .logitAdjust].contains($0.method)) || ($0.mode == .rounds && $0.kdTeacher == .stageOne)
        },
        Rule(flags: ["--head-key"], belongsTo: "a --teacher head") { $0.teacher },
        Rule(flags: ["--seed"], belongsTo: "a fit with randomness (SGD shuffles, cross-validation folds, generation)") { $0.random },
        Rule(flags: ["--tukey", "--no-tukey"], belongsTo: "every method but a post-processed --teacher (lws, tau-norm, logit-adjust read the teacher's own input space)") {
            !($0.postHoc && $0.teacher)
        },
        Rule(flags: ["--many", "--few"], belongsTo: "a report on --val rows the classifier did not train on (afg evaluate takes them too)") {
            $0.val && !$0.crossValidates
        },
    ]

    /// The first given flag the path does not read, as a one-line refusal; nil when every
    /// given flag applies.
    static func refusal(given: [String], path: TrainPath) -> String? {
        for flag in given {
            guard let rule = rules.first(where: { $0.flags.contains(flag) }) else { continue }
            if !rule.applies(path) {
                return "\(flag) applies to \(rule.belongsTo), not to \(path.description)" + hint(flag, path)
            }
        }
        return nil
    }

    /// What the user may have meant, for the commonest refusals.
    static func hint(_ flag: String, _ p: TrainPath) -> String {
        switch flag {
        case "--many" where p.crossValidates, "--few" where p.crossValidates:
            return " (this run refits on every labelled row and reports the cross-validated score; pass them to afg evaluate)"
        case "--many", "--few": return " (no --val: nothing is grouped; pass them to afg evaluate)"
        case "--teacher" where p.lbfgs: return " (the converged solver starts from zero and needs no teacher)"
        case "--seed": return " (this fit is deterministic)"
        default: return ""
        }
    }
}
