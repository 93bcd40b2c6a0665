import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A fixed set of persistent worker threads for ``Parallel``.
///
/// `DispatchQueue.concurrentPerform` on Linux often runs every iteration on the calling thread
/// when its workers are asleep (measured here: two 1 ms iterations took 2 ms), so kernels would
/// silently run on one core. These workers spin briefly on a generation counter after each job,
/// then sleep on a condition variable, so back-to-back kernels start within microseconds and an
/// idle process burns no CPU.
final class WorkerPool: @unchecked Sendable {
    /// One fewer than the thread count: the calling thread always takes part.
    let workerCount: Int

    private var mutex = pthread_mutex_t()
    private var wake = pthread_cond_t()
    private var done = pthread_cond_t()
    /// Serialises jobs from different caller threads; a caller that finds it taken runs alone.
    private let jobLock = Mutex(())
    private let generation = Atomic<Int>(0)
    private let nextChunk = Atomic<Int>(0)
    private let remaining = Atomic<Int>(0)
    private var chunkCount = 0
    /// Workers that picked up the current job and have not yet left it (guarded by `mutex`).
    /// The caller waits for zero before the job's closure goes out of scope.
    private var activeWorkers = 0
    /// The current job's body. Workers call through this pointer and never keep a copy, so the
    /// caller's non-escaping closure is not retained past the job.
    private var body: UnsafeMutablePointer<(Int) -> Void>?

    init(workers: Int) {
        workerCount = Swift.max(0, workers)
        pthread_mutex_init(&mutex, nil)
        pthread_cond_init(&wake, nil)
        pthread_cond_init(&done, nil)
        for _ in 0..<workerCount {
            let thread = Thread { [unowned self] in self.workerLoop() }
            thread.stackSize = 8 << 20
            thread.start()
        }
    }

    /// Runs `body(0..<chunks)` across the caller and the workers; returns when all are done.
    func run(chunks: Int, _ body: (Int) -> Void) {
        guard workerCount > 0, chunks > 1 else {
            for c in 0..<chunks { body(c) }
            return
        }
        withoutActuallyEscaping(body) { escapable in
          var job = escapable
          withUnsafeMutablePointer(to: &job) { jobPointer in
            let ran: Bool? = jobLock.withLockIfAvailable { _ in
                pthread_mutex_lock(&mutex)
                self.body = jobPointer
                chunkCount = chunks
                nextChunk.store(0, ordering: .relaxed)
                remaining.store(chunks, ordering: .relaxed)
                generation.add(1, ordering: .releasing)
                pthread_cond_broadcast(&wake)
                pthread_mutex_unlock(&mutex)
                work(jobPointer, chunks)
                // Wait for the chunks other threads took.
                var spins = 0
                while remaining.load(ordering: .acquiring) > 0 {
                    spins += 1
                    if spins > 2_000 {
                        pthread_mutex_lock(&mutex)
                        while remaining.load(ordering: .acquiring) > 0 { pthread_cond_wait(&done, &mutex) }
                        pthread_mutex_unlock(&mutex)
                    }
                }
                pthread_mutex_lock(&mutex)
                while activeWorkers > 0 { pthread_cond_wait(&done, &mutex) }
                self.body = nil
                pthread_mutex_unlock(&mutex)
                return true
            }
            if ran == nil {
                // Another caller holds the workers: run here, marked as a region so nested kernels stay serial.
                Parallel.$isInsideParallelRegion.withValue(true) { for c in 0..<chunks { jobPointer.pointee(c) } }
            }
          }
        }
    }

    /// Takes chunks until none are left.
    private func work(_ body: UnsafeMutablePointer<(Int) -> Void>, _ chunks: Int) {
        while true {
            let c = nextChunk.add(1, ordering: .relaxed).oldValue
            if c >= chunks { return }
            Parallel.$isInsideParallelRegion.withValue(true) { body.pointee(c) }
            if remaining.subtract(1, ordering: .acquiringAndReleasing).newValue == 0 {
                pthread_mutex_lock(&mutex)
                pthread_cond_broadcast(&done)
                pthread_mutex_unlock(&mutex)
            }
        }
    }

    private func workerLoop() {
        var seen = generation.load(ordering: .acquiring)
        while true {
            // Spin for up to ~200 µs for the next job (kernels usually follow each other closer
            // than that), then sleep.
            let spinUntil = DispatchTime.now().uptimeNanoseconds &+ 200_000
            var spins = 0
            while generation.load(ordering: .acquiring) == seen {
                spins &+= 1
                if spins & 255 == 0 && DispatchTime.now().uptimeNanoseconds > spinUntil { break }
            }
            pthread_mutex_lock(&mutex)
            while generation.load(ordering: .acquiring) == seen { pthread_cond_wait(&wake, &mutex) }
            seen = generation.load(ordering: .acquiring)
            let job = body, chunks = chunkCount
            if job != nil { activeWorkers += 1 }
            pthread_mutex_unlock(&mutex)
            guard let job else { continue }
            work(job, chunks)
            pthread_mutex_lock(&mutex)
            activeWorkers -= 1
            pthread_cond_broadcast(&done)
            pthread_mutex_unlock(&mutex)
        }
    }
}
