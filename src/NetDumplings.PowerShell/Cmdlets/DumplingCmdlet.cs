using System.Management.Automation;

namespace NetDumplings.PowerShell.Cmdlets;

/// <summary>
/// Base for the module's cmdlets: owns the cancellation token that <see cref="StopProcessing"/>
/// (Ctrl+C, Stop-Job, Select-Object -First) cancels, so every wait in a cmdlet can honour it.
/// </summary>
public abstract class DumplingCmdlet : PSCmdlet, IDisposable
{
    private readonly CancellationTokenSource _stopping = new();

    /// <summary>Cancelled when the pipeline is stopped.</summary>
    protected CancellationToken CancelToken => _stopping.Token;

    protected override void StopProcessing() => _stopping.Cancel();

    public void Dispose()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    protected virtual void Dispose(bool disposing)
    {
        if (disposing) _stopping.Dispose();
    }

    /// <summary>Resolves PowerShell paths (wildcards, relative paths) to files; a path that matches nothing is a non-terminating error.</summary>
    protected List<string> ResolveChefFiles(IEnumerable<string> paths)
    {
        var files = new List<string>();
        foreach (var p in paths)
        {
            try { files.AddRange(GetResolvedProviderPathFromPSPath(p, out _)); }
            catch (ItemNotFoundException e)
            {
                WriteError(e, "ChefFileNotFound", ErrorCategory.ObjectNotFound, p, "Check the path of the chef file.");
            }
        }
        return files;
    }

    /// <summary>Writes a non-terminating error with a category, target and, where the user can act, a recommendation.</summary>
    protected void WriteError(Exception exception, string errorId, ErrorCategory category, object? target, string? recommendedAction = null) =>
        WriteError(Errors.Record(exception, errorId, category, target, recommendedAction));

    /// <summary>Stops the cmdlet with a terminating error.</summary>
    protected void ThrowTerminatingError(Exception exception, string errorId, ErrorCategory category, object? target, string? recommendedAction = null) =>
        ThrowTerminatingError(Errors.Record(exception, errorId, category, target, recommendedAction));
}

/// <summary>Builds ErrorRecords the same way everywhere.</summary>
public static class Errors
{
    public static ErrorRecord Record(Exception exception, string errorId, ErrorCategory category, object? target, string? recommendedAction = null)
    {
        var record = new ErrorRecord(exception, errorId, category, target);
        if (recommendedAction is not null)
            record.ErrorDetails = new ErrorDetails(exception.Message) { RecommendedAction = recommendedAction };
        return record;
    }
}
