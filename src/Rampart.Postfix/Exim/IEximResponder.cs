namespace Rampart.Postfix.Exim;

/// <summary>
/// Answers one Exim line request: <paramref name="key"/> is the request line's text (a domain as Exim's
/// <c>$domain</c> gives it, or anything else a client sent). Never throws for lookup outcomes: faults become
/// <c>tempfail</c>.
/// </summary>
internal interface IEximResponder
{
    ValueTask<EximReply> RespondAsync(string key, CancellationToken cancellationToken);
}
