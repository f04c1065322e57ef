using System.Management.Automation;
using NetDumplings.Kitchen;

namespace NetDumplings.PowerShell.Kitchen;

/// <summary>
/// Start-DumplingKitchen -AsJob: the kitchen already runs on its own threads, so the job only pumps
/// its dumplings, notices and final statistics into the job's streams, and stops the kitchen on Stop-Job.
/// No runspace is involved, so no user scriptblock ever runs on the pump's thread.
/// </summary>
public sealed class KitchenJob : Job2
{
    private readonly DumplingKitchen _kitchen;
    private Task? _pump;

    internal KitchenJob(string command, string name, DumplingKitchen kitchen) : base(command, name)
    {
        _kitchen = kitchen;
        PSJobTypeName = "DumplingKitchenJob";
    }

    /// <summary>The kitchen's counters now.</summary>
    public KitchenStatistics Statistics => _kitchen.GetStatistics();

    public override string StatusMessage => _kitchen.GetStatistics().ToString();
    public override bool HasMoreData => Output.Count > 0 || Error.Count > 0 || Warning.Count > 0 || Verbose.Count > 0 || Information.Count > 0;
    public override string Location => _kitchen.Options.IsLiveCapture ? string.Join(",", _kitchen.Options.LiveInterfaceNames) : string.Join(",", _kitchen.Options.Files);

    internal void Begin()
    {
        SetJobState(JobState.Running);
        _pump = Task.Run(PumpAsync);
    }

    private async Task PumpAsync()
    {
        var dumplings = _kitchen.Dumplings;
        try
        {
            var reading = dumplings is null ? Task.CompletedTask : Task.Run(async () =>
            {
                await foreach (var d in dumplings.ReadAllAsync().ConfigureAwait(false)) Output.Add(PSObject.AsPSObject(d));
            });
            await foreach (var notice in _kitchen.Notices.ReadAllAsync().ConfigureAwait(false))
            {
                switch (notice.Level)
                {
                    case KitchenNoticeLevel.Error: Error.Add(KitchenErrors.Record(notice)); break;
                    case KitchenNoticeLevel.Warning: Warning.Add(new WarningRecord(notice.Message)); break;
                    default: Verbose.Add(new VerboseRecord(notice.Message)); break;
                }
            }
            await _kitchen.Completion.ConfigureAwait(false);
            await reading.ConfigureAwait(false);
            var stats = _kitchen.GetStatistics();
            if (dumplings is null) Output.Add(PSObject.AsPSObject(stats));
            else Information.Add(new InformationRecord(stats, "Start-DumplingKitchen"));
            SetJobState(_stopping ? JobState.Stopped : JobState.Completed);
        }
        catch (Exception e)
        {
            Error.Add(Errors.Record(e, "KitchenFailed", ErrorCategory.NotSpecified, Name));
            SetJobState(JobState.Failed);
        }
    }

    private volatile bool _stopping;

    public override void StopJob()
    {
        if (IsFinishedState(JobStateInfo.State)) return;
        _stopping = true;
        SetJobState(JobState.Stopping);
        _kitchen.StopAsync().GetAwaiter().GetResult();
        _pump?.GetAwaiter().GetResult();
    }

    public override void StopJob(bool force, string reason) => StopJob();
    public override void StartJob() { }
    public override void StartJobAsync() => OnStartJobCompleted(new System.ComponentModel.AsyncCompletedEventArgs(null, false, null));
    public override void StopJobAsync() => Task.Run(() => { StopJob(); OnStopJobCompleted(new System.ComponentModel.AsyncCompletedEventArgs(null, false, null)); });
    public override void StopJobAsync(bool force, string reason) => StopJobAsync();
    public override void SuspendJob() => throw new NotSupportedException("A kitchen cannot be suspended; stop it with Stop-Job.");
    public override void SuspendJobAsync() => SuspendJob();
    public override void SuspendJob(bool force, string reason) => SuspendJob();
    public override void SuspendJobAsync(bool force, string reason) => SuspendJob();
    public override void ResumeJob() => throw new NotSupportedException("A kitchen cannot be suspended or resumed.");
    public override void ResumeJobAsync() => ResumeJob();
    public override void UnblockJob() => throw new NotSupportedException("A kitchen job never blocks.");
    public override void UnblockJobAsync() => UnblockJob();

    private static bool IsFinishedState(JobState state) => state is JobState.Completed or JobState.Failed or JobState.Stopped;

    protected override void Dispose(bool disposing)
    {
        if (disposing && !IsFinishedState(JobStateInfo.State)) StopJob();
        base.Dispose(disposing);
    }
}
