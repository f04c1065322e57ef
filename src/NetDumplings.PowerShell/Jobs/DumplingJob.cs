using System.Management.Automation;

using NetDumplings.PowerShell.Cmdlets;

namespace NetDumplings.PowerShell.Jobs;

/// <summary>How loud an engine message is; each goes to one PowerShell stream.</summary>
public enum JobMessageLevel { Verbose, Information, Warning, Error }

/// <summary>
/// The one job for the module's long-running engines (a hub, a kitchen). The engine runs on its own
/// threads and hands what it reports to the job's streams; the job is the single source of state and
/// streams for -AsJob (Get-Job, Receive-Job, Stop-Job) and, through <see cref="Replay"/>, for the
/// foreground cmdlet, which writes the same streams on the pipeline thread.
/// </summary>
public abstract class DumplingJob : Job2
{
    /// <summary>Records a stream keeps for a reader who never comes; older ones go, and are counted.</summary>
    public const int StreamLimit = 10_000;

    private readonly SemaphoreSlim _added = new(0);
    private readonly ManualResetEventSlim _notReplaying = new(true);
    private readonly string _source;
    private int _stopped;
    private long _dropped;
    private long _droppedReported;

    protected DumplingJob(string command, string? name, string typeName, string source) : base(command, name)
    {
        PSJobTypeName = typeName;
        _source = source;
        Output.DataAdded += (_, _) => Signal();
        Error.DataAdded += (_, _) => Signal();
        Warning.DataAdded += (_, _) => Signal();
        Verbose.DataAdded += (_, _) => Signal();
        Information.DataAdded += (_, _) => Signal();
        Progress.DataAdded += (_, _) => Signal();
        StateChanged += (_, e) =>
        {
            if (e.JobStateInfo.State == JobState.Running) ProcessShutdown.Add(this);
            else if (IsFinished(e.JobStateInfo.State)) ProcessShutdown.Remove(this);
            Signal();
        };
    }

    /// <summary>Records dropped because nobody read the job's streams for a long time.</summary>
    public long DroppedRecords => Interlocked.Read(ref _dropped);

    public override bool HasMoreData => Output.Count > 0 || Error.Count > 0 || Warning.Count > 0 || Verbose.Count > 0 || Information.Count > 0;

    protected static bool IsFinished(JobState state) => state is JobState.Completed or JobState.Failed or JobState.Stopped;

    private void Signal()
    {
        // Engine threads may still add a record after a foreground job was disposed: nothing waits then.
        try { if (_added.CurrentCount == 0) _added.Release(); }
        catch (ObjectDisposedException) { }
    }

    /// <summary>The one level-to-stream switch for every engine message.</summary>
    protected void AddMessage(JobMessageLevel level, string message, Func<ErrorRecord>? error = null)
    {
        switch (level)
        {
            case JobMessageLevel.Error:
                AddBounded(Error, error?.Invoke() ?? Errors.Record(new InvalidOperationException(message), $"{_source}Error", ErrorCategory.NotSpecified, Name));
                break;
            case JobMessageLevel.Warning:
                AddBounded(Warning, new WarningRecord(message));
                break;
            case JobMessageLevel.Information:
                // Shown like Write-Host, as the original's tools print their log; still capturable with 6>.
                AddBounded(Information, new InformationRecord(new HostInformationMessage { Message = message }, _source) { Tags = { "PSHOST", "NetDumplings" } });
                break;
            default:
                AddBounded(Verbose, new VerboseRecord(message));
                break;
        }
    }

    protected void AddOutput(object item) => Output.Add(PSObject.AsPSObject(item));

    private void AddBounded<T>(PSDataCollection<T> stream, T record)
    {
        while (stream.Count >= StreamLimit && stream.Count > 0)
        {
            stream.RemoveAt(0);
            Interlocked.Increment(ref _dropped);
        }
        stream.Add(record);
    }

    /// <summary>Stops the engine and waits for it; called once.</summary>
    protected abstract void StopEngine();

    /// <summary>SIGTERM or the process's exit: says why in the log, then stops as Stop-Job does.</summary>
    internal void StopForShutdown(string reason)
    {
        if (IsFinished(JobStateInfo.State)) return;
        AddMessage(JobMessageLevel.Verbose, $"Stopping {Name}: {reason}.");
        StopJob();
    }

    /// <summary>Waits until a foreground cmdlet replaying this job has written its last records.</summary>
    internal bool WaitForReplay(TimeSpan timeout)
    {
        // A foreground job is disposed as soon as its replay ends, possibly while a signal handler waits here.
        try { return _notReplaying.Wait(timeout); }
        catch (ObjectDisposedException) { return true; }
    }

    /// <summary>
    /// Called on the pipeline thread after Ctrl+C stopped the foreground: the pipeline takes no more
    /// records, but the host can still be told what the user would otherwise never see.
    /// </summary>
    protected virtual void ReportAfterStop(PSCmdlet cmdlet) { }

    public sealed override void StopJob()
    {
        if (Interlocked.Exchange(ref _stopped, 1) == 1 || IsFinished(JobStateInfo.State)) return;
        SetJobState(JobState.Stopping);
        StopEngine();
        if (!IsFinished(JobStateInfo.State)) SetJobState(JobState.Stopped);
    }

    /// <summary>
    /// The foreground: writes the job's streams on the pipeline thread as they fill, until the engine
    /// ends or the cmdlet is stopped (then the engine is stopped, and nothing more can be written).
    /// </summary>
    internal void Replay(PSCmdlet cmdlet, CancellationToken cancel)
    {
        _notReplaying.Reset();
        try { ReplayCore(cmdlet, cancel); }
        finally { _notReplaying.Set(); }
    }

    private void ReplayCore(PSCmdlet cmdlet, CancellationToken cancel)
    {
        while (true)
        {
            var finished = IsFinished(JobStateInfo.State);
            foreach (var o in Output.ReadAll()) cmdlet.WriteObject(o);
            foreach (var e in Error.ReadAll()) cmdlet.WriteError(e);
            foreach (var w in Warning.ReadAll()) cmdlet.WriteWarning(w.Message);
            foreach (var v in Verbose.ReadAll()) cmdlet.WriteVerbose(v.Message);
            foreach (var i in Information.ReadAll()) cmdlet.WriteInformation(i);
            foreach (var p in Progress.ReadAll()) cmdlet.WriteProgress(p);
            var dropped = Interlocked.Read(ref _dropped);
            if (dropped > _droppedReported)
            {
                cmdlet.WriteWarning($"{dropped - _droppedReported} log records were dropped: they came faster than this console took them.");
                _droppedReported = dropped;
            }
            if (finished) return;
            try
            {
                _added.Wait(TimeSpan.FromMilliseconds(250), cancel);
            }
            catch (OperationCanceledException)
            {
                StopJob();
                ReportAfterStop(cmdlet);
                return;
            }
        }
    }

    public override void StopJob(bool force, string reason) => StopJob();
    public override void StartJob() { }
    public override void StartJobAsync() => OnStartJobCompleted(new System.ComponentModel.AsyncCompletedEventArgs(null, false, null));
    public override void StopJobAsync() => Task.Run(() => { StopJob(); OnStopJobCompleted(new System.ComponentModel.AsyncCompletedEventArgs(null, false, null)); });
    public override void StopJobAsync(bool force, string reason) => StopJobAsync();
    public override void SuspendJob() => throw new NotSupportedException($"A {PSJobTypeName} cannot be suspended; stop it with Stop-Job.");
    public override void SuspendJobAsync() => SuspendJob();
    public override void SuspendJob(bool force, string reason) => SuspendJob();
    public override void SuspendJobAsync(bool force, string reason) => SuspendJob();
    public override void ResumeJob() => throw new NotSupportedException($"A {PSJobTypeName} cannot be suspended or resumed.");
    public override void ResumeJobAsync() => ResumeJob();
    public override void UnblockJob() => throw new NotSupportedException($"A {PSJobTypeName} never blocks.");
    public override void UnblockJobAsync() => UnblockJob();

    protected override void Dispose(bool disposing)
    {
        if (disposing && !IsFinished(JobStateInfo.State)) StopJob();
        if (disposing)
        {
            _added.Dispose();
            _notReplaying.Dispose();
        }
        base.Dispose(disposing);
    }
}
