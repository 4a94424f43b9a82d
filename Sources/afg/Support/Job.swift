import AFG
import ArgumentParser
import Distributed
import FeatureIO
import Foundation
import Linalg

/// The job this process belongs to: `Ranks.single` (one process, no MPI) unless an MPI
/// launcher started it (`mpirun -np N afg …`, `srun afg …`). Set once by
/// `AFGCommand.main()` before the arguments are parsed; the commands read it to split
/// their input (`part`), to hand the libraries a sum across ranks (`sum`), and so that
/// only rank 0 writes files and prints.
enum Job {
    static var ranks: Ranks = .single

    /// More than one process.
    static var isDistributed: Bool { ranks.size > 1 }
    /// This rank's part of a sharded feature input.
    static var part: ShardPart { ShardPart(rank: ranks.rank, size: ranks.size) }
    /// The sum across ranks handed to AFG and Classifier (the identity in one process).
    static var sum: SumAcrossRanks { { ranks.sum(&$0) } }
    /// The solver's double-double combination across ranks (`Ranks.combine`).
    static var combine: CombineAcrossRanks { { ranks.combine(&$0) } }

    /// Runs `body` (a read of this rank's input) on every rank and agrees on the outcome:
    /// when any rank failed, the lowest failing rank prints its one-line error (naming
    /// its rank and file) and aborts the job. Identity wrapper in one process.
    static func agree<T>(_ body: () throws -> T) throws -> T {
        guard isDistributed else { return try body() }
        return ranks.agree(body)
    }

    /// The smallest of every rank's `value` (the Tukey `auto` rule looks at all rows).
    static func minimum(_ value: Float) throws -> Float {
        guard isDistributed else { return value }
        return Float(try ranks.allGather([Double(value)]).min()!)
    }

    /// Global class counts from this rank's (`C` each), summed exactly (counts < 2⁵³).
    static func totalCounts(_ local: [Int]) -> [Int] {
        guard isDistributed else { return local }
        var v = local.map(Double.init)
        ranks.sum(&v)
        return v.map { Int($0) }
    }

    /// Every rank's dimension and class count equal rank 0's, else a one-line error
    /// naming this rank's files (of `files`, the whole option).
    static func checkShapesAgree(dim: Int, classes: Int, files: [String]) throws {
        guard isDistributed else { return }
        var root = [Double(dim), Double(classes)]
        ranks.broadcast(&root)
        try agree {
            let mine = shardName(shardFiles(files, part: part))
            if Int(root[0]) != dim { throw CLIError("\(mine): feature dimension \(dim), rank 0's files have \(Int(root[0]))") }
            if Int(root[1]) != classes { throw CLIError("\(mine): \(classes) classes, rank 0's files have \(Int(root[1]))") }
        }
    }

    /// Refuses, under MPI, a command or path that does not run distributed.
    static func requireOneProcess(_ what: String) throws {
        if isDistributed { throw CLIError("\(what) runs in one process; under mpirun use calibrate, train, evaluate or extract") }
    }
}

extension AFGCommand {
    /// The entry point. Without an MPI launcher this is ArgumentParser's own `main`: one
    /// process, MPI never initialised. Under a launcher: `MPI_Init`, parse (a usage error is
    /// printed by rank 0 only, every rank exits with its code), run; a run-time error on
    /// any rank prints one line naming the rank and aborts the whole job (`MPI_Abort`),
    /// so no rank waits forever and rank 0 writes nothing. Either way OpenBLAS's idle
    /// worker threads are stopped first (`prepareBLAS`), before any parallel work, and the
    /// allocator keeps freed blocks for reuse (`keepFreedBlocks`), and SIGINT / SIGTERM /
    /// SIGHUP remove afg's temporaries and exit 128 + the signal (`installInterruptCleanup`).
    static func main() {
        prepareBLAS()
        keepFreedBlocks()
        installInterruptCleanup()
        guard Launch.isMPI() else { return runOneProcess() }
        let ranks: Ranks
        do { ranks = try Ranks.start() } catch {
            FileHandle.standardError.write("Error: \(error)\n".data(using: .utf8)!)
            Foundation.exit(1)
        }
        Job.ranks = ranks
        var command: ParsableCommand
        do {
            command = try parseAsRoot(argumentsWithNegativeValues)
        } catch {
            // Rank 0 prints before the ranks finish together: a rank that exits non-zero
            // makes mpirun end the job, which must not cut rank 0 off before its line.
            let code = ranks.isRoot ? printParseError(error) : exitCode(for: error).rawValue
            ranks.finish()
            Foundation.exit(code)
        }
        do {
            try command.run()
        } catch {
            ranks.abort("\(error)")
        }
        fflush(stdout)
        ranks.finish()
        Foundation.exit(0)
    }

    /// One process: parse and run as ArgumentParser's `main` does, except that an error
    /// prints one line (a bad option value's message without the help and usage blocks);
    /// `--help`, `--version` and completion scripts print in full.
    static func runOneProcess() {
        do {
            var command = try parseAsRoot(argumentsWithNegativeValues)
            try command.run()
        } catch {
            Foundation.exit(printParseError(error))
        }
    }

    /// The command line with every negative number that follows a long option joined to it
    /// (`--seed -1` read as `--seed=-1`). ArgumentParser reads a word that begins with `-` as
    /// another option, so `--blend -0.5` would fail with "Missing value for '--blend'"
    /// instead of naming the value and the interval `--help` states. Nothing after `--` is
    /// touched.
    static var argumentsWithNegativeValues: [String] {
        var out: [String] = [], ended = false
        for word in CommandLine.arguments.dropFirst() {
            if !ended, let last = out.last, last.hasPrefix("--"), last.count > 2, !last.contains("="),
               word.hasPrefix("-"), Double(word) != nil {
                out[out.count - 1] = last + "=" + word
            } else {
                ended = ended || word == "--"
                out.append(word)
            }
        }
        return out
    }

    /// Prints what ArgumentParser's `exit(withError:)` would, except that an error is one
    /// line on stderr (a bad option value's message without the help and usage blocks);
    /// `--help`, `--version` and completion scripts print in full on stdout. Returns the
    /// exit code.
    static func printParseError(_ error: Error) -> Int32 {
        let code = exitCode(for: error)
        if code == .success {
            print(fullMessage(for: error))
            fflush(stdout)
        } else if let line = fullMessage(for: error).split(separator: "\n").first {
            let text = line.hasPrefix("Error: ") ? String(line) : "Error: \(line)"
            FileHandle.standardError.write((text + "\n").data(using: .utf8)!)
        }
        return code.rawValue
    }
}
