"""Build-time tools: the contract code generator and the WSDL writer (``make generate``).

Nothing at run time imports this package; the service reads only what these tools wrote.
"""
