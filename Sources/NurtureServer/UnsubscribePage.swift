/// The pages a person sees when unsubscribing.
enum UnsubscribePage {
    private static func page(_ title: String, _ body: String) -> String {
        """
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
        <meta name="robots" content="noindex"><title>\(title)</title>
        <style>body{font-family:Helvetica,Arial,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem;color:#1f2933}
        button{font-size:1rem;padding:.6rem 1.2rem;background:#3b5bdb;color:#fff;border:0;border-radius:4px;cursor:pointer}</style>
        </head><body>\(body)</body></html>
        """
    }

    /// A button that POSTs to `action`: a GET alone (a link scanner) unsubscribes nobody.
    static func confirm(action: String) -> String {
        page("Unsubscribe", """
        <h1>Unsubscribe</h1>
        <p>You will not receive any more marketing emails from us.</p>
        <form method="post" action="\(action)"><input type="hidden" name="List-Unsubscribe" value="One-Click">
        <button type="submit">Unsubscribe</button></form>
        """)
    }

    static let done = page("Unsubscribed", "<h1>You are unsubscribed</h1><p>You will not receive any more marketing emails from us.</p>")
}
