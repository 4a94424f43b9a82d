import CMPI
import Foundation
import Linalg

/// Element types the collectives move, with their MPI datatype.
protocol MPIScalar { static var mpiType: MPI_Datatype? { get } }
extension Double: MPIScalar { static var mpiType: MPI_Datatype? { afg_MPI_DOUBLE() } }
extension Float: MPIScalar { static var mpiType: MPI_Datatype? { afg_MPI_FLOAT() } }

/// The one file that calls Open MPI (through `CMPI`'s getters for its macro handles).
/// Communication errors are fatal (MPI's default handler `MPI_ERRORS_ARE_FATAL`: the
/// launcher ends the job), so a collective returns only on success.
enum MPICalls {
    /// MPI counts are 32-bit: buffers move in pieces of at most this many elements.
    static let piece = 1 << 30

    /// `MPI_Init_thread(FUNNELED)`; returns (rank, size).
    static func initialize() throws -> (Int, Int) {
        var provided: Int32 = 0
        let rc = MPI_Init_thread(nil, nil, afg_MPI_THREAD_FUNNELED(), &provided)
        guard rc == afg_MPI_SUCCESS() else { throw DistributedError("MPI_Init_thread: \(errorText(rc))") }
        var rank: Int32 = 0, size: Int32 = 0
        MPI_Comm_rank(afg_MPI_COMM_WORLD(), &rank)
        MPI_Comm_size(afg_MPI_COMM_WORLD(), &size)
        return (Int(rank), Int(size))
    }

    static func finalize() { MPI_Finalize() }

    static func abort(code: Int32) -> Never {
        MPI_Abort(afg_MPI_COMM_WORLD(), code)
        exit(code)      // MPI_Abort does not return; this satisfies the type checker
    }

    static func barrier() { MPI_Barrier(afg_MPI_COMM_WORLD()) }

    /// `MPI_Reduce(SUM)` into `x` on `root` (in place there), piece by piece.
    static func reduceSum<T: MPIScalar>(_ x: inout [T], root: Int, isRoot: Bool) {
        let n = x.count
        x.withUnsafeMutableBufferPointer { p in
            var a = 0
            while a < n {
                let m = min(piece, n - a)
                let base = UnsafeMutableRawPointer(p.baseAddress! + a)
                if isRoot {
                    MPI_Reduce(afg_MPI_IN_PLACE(), base, Int32(m), T.mpiType, afg_MPI_SUM(), Int32(root), afg_MPI_COMM_WORLD())
                } else {
                    MPI_Reduce(base, nil, Int32(m), T.mpiType, afg_MPI_SUM(), Int32(root), afg_MPI_COMM_WORLD())
                }
                a += m
            }
        }
    }

    /// A pair of Doubles `(hi, lo)`, one element of a double-double reduction (a pair is
    /// never split between the pieces MPI hands the operation).
    nonisolated(unsafe) static let pairType: MPI_Datatype? = {
        var t: MPI_Datatype? = afg_MPI_DATATYPE_NULL()
        MPI_Type_contiguous(2, afg_MPI_DOUBLE(), &t)
        MPI_Type_commit(&t)
        return t
    }()

    /// `inout[k] ← in[k] + inout[k]` in double-double (`CompensatedSum.add(pair:to:)`), declared
    /// non-commutative so MPI applies it in rank order.
    nonisolated(unsafe) static let pairSum: MPI_Op? = {
        var op: MPI_Op? = afg_MPI_OP_NULL()
        MPI_Op_create({ input, output, len, _ in
            guard let a = input?.assumingMemoryBound(to: Double.self), let b = output?.assumingMemoryBound(to: Double.self),
                  let n = len?.pointee else { return }
            for k in 0..<Int(n) { CompensatedSum.add(pair: (a[2 * k], a[2 * k + 1]), to: &b[2 * k], &b[2 * k + 1]) }
        }, 0, &op)
        return op
    }()

    /// `MPI_Reduce` of interleaved `(hi, lo)` pairs with `pairSum` into `x` on `root`
    /// (in place there), piece by piece.
    static func reducePairs(_ x: inout [Double], root: Int, isRoot: Bool) {
        precondition(x.count % 2 == 0, "reducePairs: odd count")
        let n = x.count / 2, type = pairType, op = pairSum
        x.withUnsafeMutableBufferPointer { p in
            var a = 0
            while a < n {
                let m = min(piece / 2, n - a)
                let base = UnsafeMutableRawPointer(p.baseAddress! + 2 * a)
                if isRoot {
                    MPI_Reduce(afg_MPI_IN_PLACE(), base, Int32(m), type, op, Int32(root), afg_MPI_COMM_WORLD())
                } else {
                    MPI_Reduce(base, nil, Int32(m), type, op, Int32(root), afg_MPI_COMM_WORLD())
                }
                a += m
            }
        }
    }

    /// `MPI_Bcast` of `x` from `root`, piece by piece.
    static func broadcast<T: MPIScalar>(_ x: inout [T], root: Int) {
        let n = x.count
        x.withUnsafeMutableBufferPointer { p in
            var a = 0
            while a < n {
                let m = min(piece, n - a)
                MPI_Bcast(UnsafeMutableRawPointer(p.baseAddress! + a), Int32(m), T.mpiType, Int32(root), afg_MPI_COMM_WORLD())
                a += m
            }
        }
    }

    /// `MPI_Gatherv` (or `MPI_Allgatherv` when `all`) of buffers whose counts may differ:
    /// the counts are exchanged first (as doubles). Returns the concatenation in rank order
    /// on the receivers, nil elsewhere.
    static func gather<T: MPIScalar & Numeric>(_ x: [T], root: Int, all: Bool, rank: Int, size: Int) throws -> [T]? {
        var counts = [Double](repeating: 0, count: size)
        counts[rank] = Double(x.count)
        reduceSum(&counts, root: 0, isRoot: rank == 0)
        broadcast(&counts, root: 0)
        let total = counts.reduce(0, +)
        guard total <= Double(Int32.max) else {
            throw DistributedError("gather of \(Int(total)) elements exceeds MPI's 32-bit counts")
        }
        let recvCounts = counts.map { Int32($0) }
        var displs = [Int32](repeating: 0, count: size)
        for r in 1..<max(size, 1) { displs[r] = displs[r - 1] + recvCounts[r - 1] }
        let receives = all || rank == root
        var out = [T](repeating: 0, count: receives ? Int(total) : 0)
        x.withUnsafeBufferPointer { px in
            out.withUnsafeMutableBufferPointer { po in
                let send = UnsafeRawPointer(px.baseAddress)
                let recv = UnsafeMutableRawPointer(po.baseAddress)
                if all {
                    MPI_Allgatherv(send, Int32(x.count), T.mpiType, recv, recvCounts, displs, T.mpiType, afg_MPI_COMM_WORLD())
                } else {
                    MPI_Gatherv(send, Int32(x.count), T.mpiType, recv, recvCounts, displs, T.mpiType, Int32(root), afg_MPI_COMM_WORLD())
                }
            }
        }
        return receives ? out : nil
    }

    /// MPI's text for an error code.
    static func errorText(_ code: Int32) -> String {
        var buf = [CChar](repeating: 0, count: Int(afg_MPI_MAX_ERROR_STRING()) + 1)
        var len: Int32 = 0
        MPI_Error_string(code, &buf, &len)
        return String(cString: buf)
    }
}
