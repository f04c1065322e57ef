using System.Runtime.InteropServices;
using System.Text;

namespace NetDumplings.PowerShell.Jobs;

/// <summary>
/// Stops every running hub and kitchen of this process as Stop-Job does (peers closed with 1001,
/// kitchens' outboxes delivered, final statistics written) when the process is told to end:
/// SIGTERM (what kill and systemd send) and the process's own exit (the end of a script that left
/// jobs running, or SIGINT ending it). Foreground cmdlets are stopped the same way and get to write
/// their last records before the process goes. Without a running hub or kitchen the signal keeps its
/// default meaning. SIGINT in the foreground is Ctrl+C, which PowerShell turns into StopProcessing.
/// </summary>
internal static class ProcessShutdown
{
    /// <summary>How long the process waits for its hubs and kitchens to stop and write their last records.</summary>
    internal static readonly TimeSpan Grace = TimeSpan.FromSeconds(3);

    private static readonly Lock s_gate = new();
    private static readonly HashSet<DumplingJob> s_running = [];
    private static PosixSignalRegistration? s_terminate;
    private static Timer? s_orphanWatch;

    internal static void Add(DumplingJob job)
    {
        lock (s_gate)
        {
            s_running.Add(job);
            if (s_terminate is not null) return;
            // Registered once, on the first hub or kitchen, and kept: with nothing running the handler does nothing.
            s_terminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, _ => StopAll("SIGTERM"));
            AppDomain.CurrentDomain.ProcessExit += (_, _) => StopAll("the process is exiting");
            WatchForLostWrapper();
        }
    }

    internal static void Remove(DumplingJob job)
    {
        lock (s_gate) s_running.Remove(job);
    }

    /// <summary>
    /// `dotnet pwsh` runs pwsh two processes down (the dotnet CLI, then PowerShell's tool shim, then pwsh):
    /// a SIGTERM to the top process ends it and the shim, but never reaches this one, which would keep
    /// serving as an orphan. Under the shim, this process notices its parent is gone (checked every
    /// half second) and treats it as the SIGTERM it was meant to get.
    /// </summary>
    private static void WatchForLostWrapper()
    {
        if (!OperatingSystem.IsLinux()) return;
        int parent;
        try
        {
            parent = getppid();
            var command = File.ReadAllText($"/proc/{parent}/cmdline", Encoding.UTF8);
            if (!command.Contains("GlobalTool.Shim", StringComparison.OrdinalIgnoreCase)) return;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or DllNotFoundException or EntryPointNotFoundException)
        {
            return;
        }
        s_orphanWatch = new Timer(_ =>
        {
            if (getppid() == parent) return;
            s_orphanWatch?.Dispose();
            _ = kill(Environment.ProcessId, 15); // SIGTERM: the handler above stops everything, then the process ends
        }, null, TimeSpan.FromMilliseconds(500), TimeSpan.FromMilliseconds(500));
    }

    [DllImport("libc", SetLastError = true)]
    private static extern int getppid();

    [DllImport("libc", SetLastError = true)]
    private static extern int kill(int pid, int signal);

    /// <summary>Stops every running job in parallel and waits (at most <see cref="Grace"/>) until each has written its last records.</summary>
    internal static void StopAll(string reason)
    {
        DumplingJob[] jobs;
        lock (s_gate) jobs = [.. s_running];
        if (jobs.Length == 0) return;
        var deadline = DateTime.UtcNow + Grace;
        var stopping = jobs.Select(job => Task.Run(() => job.StopForShutdown(reason))).ToArray();
        try { Task.WaitAll(stopping, Grace); }
        catch (AggregateException) { /* a job that failed to stop has reported it on its own error stream */ }
        foreach (var job in jobs)
        {
            var left = deadline - DateTime.UtcNow;
            if (left <= TimeSpan.Zero) break;
            job.WaitForReplay(left);
        }
    }
}
